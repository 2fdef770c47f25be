import {readFileSync} from 'node:fs'

import {describe, expect, it} from '@jest/globals'

import {SUBMITTING_LINE, formatRunCompleted, goStatusLine} from '../../../../src/ui/render/run.js'

/** The Go CLI v2.13.0's real output (lilypad-protocol.md §1.11). */
const sample = readFileSync(new URL('fixtures/cli-run-sample-output-v2.13.0.txt', import.meta.url), 'utf8')
const sampleLines = sample.split('\n')

describe('the Go CLI status lines', () => {
  it('match the sample byte for byte', () => {
    for (const line of [
      SUBMITTING_LINE,
      goStatusLine('DealAgreed'),
      goStatusLine('ResultsSubmitted'),
      goStatusLine('ResultsAccepted'),
    ]) {
      expect(sampleLines).toContain(line)
    }
  })

  it('carry the words of run.go for the other states, and the raw name otherwise', () => {
    expect(goStatusLine('DealNegotiating')).toBe('🤝  Job submitted. Negotiating deal...')
    expect(goStatusLine('TimeoutMatch')).toBe('⏱️  Job timed out before a match could be made...')
    expect(goStatusLine('JobOfferCancelled')).toBe('😭  Job cancelled...')
    expect(goStatusLine('Uploading')).toBe('🌟  Uploading')
  })
})

describe('the completed block', () => {
  it('is the sample tail exactly, for the sample data ID and directory', () => {
    const dir = '/tmp/lilypad/data/downloaded-files/QmQHrsiAuzTLn5VU6jg5LoXBRrAkEVRKiYeJE29w54gg9Q'
    const text = formatRunCompleted({
      dataId: 'QmP2SQttNC3Hrh2xpY7bNHzV2jHq7MbfLahRC46DVzn5rG',
      outputDir: dir,
    })
    const start = sample.indexOf('🆔')
    expect(`${text}\n`).toBe(sample.slice(start))
  })

  it('keeps the line tools scrape: the second token of the `open ` line is the directory', () => {
    const text = formatRunCompleted({dataId: 'QmX', outputDir: '/tmp/lilypad/data/downloaded-files/QmY'})
    const open = text.split('\n').find((line) => line.includes('open /tmp'))
    expect(open?.trim().split(/\s+/)[1]).toBe('/tmp/lilypad/data/downloaded-files/QmY')
  })
})
