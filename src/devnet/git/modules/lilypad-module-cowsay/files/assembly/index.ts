// cowsay as a WASI program: prints exactly what Debian's cowsay 3.03 prints when run the way the
// real module runs it (the message as its only argument, no stdin, no UTF-8 locale), with the
// default cow. Everything works on the argument's raw bytes, as Perl does without a UTF-8 locale:
// lines are wrapped at 39 bytes, and a line holding any non-ASCII byte has no measurable width
// (cowsay then pads it by one space). Options in the message (`-b`, `-e xx`, …) act as cowsay's
// do; `-f` knows only the default cow.

// @ts-ignore: decorator
@external('wasi_snapshot_preview1', 'args_sizes_get')
declare function args_sizes_get(count: usize, bufferSize: usize): u16
// @ts-ignore: decorator
@external('wasi_snapshot_preview1', 'args_get')
declare function args_get(pointers: usize, buffer: usize): u16
// @ts-ignore: decorator
@external('wasi_snapshot_preview1', 'fd_write')
declare function fd_write(fd: u32, iovs: usize, iovsLength: usize, written: usize): u16
// @ts-ignore: decorator
@external('wasi_snapshot_preview1', 'proc_exit')
declare function proc_exit(code: u32): void

type Bytes = Array<u8>

const STDOUT: u32 = 1
const STDERR: u32 = 2
const SPACE: u8 = 32
const NEWLINE: u8 = 10
const DASH: u8 = 45

function ascii(text: string): Bytes {
  const out = new Array<u8>(text.length)
  for (let i = 0; i < text.length; i++) out[i] = <u8>text.charCodeAt(i)
  return out
}

function append(target: Bytes, source: Bytes): void {
  for (let i = 0; i < source.length; i++) target.push(source[i])
}

function repeat(byte: u8, count: i32): Bytes {
  const out = new Array<u8>(count > 0 ? count : 0)
  for (let i = 0; i < out.length; i++) out[i] = byte
  return out
}

function equals(a: Bytes, text: string): bool {
  if (a.length != text.length) return false
  for (let i = 0; i < a.length; i++) if (<i32>a[i] != text.charCodeAt(i)) return false
  return true
}

function write(fd: u32, data: Bytes): void {
  const iov = memory.data(16)
  let offset = 0
  while (offset < data.length) {
    store<usize>(iov, data.dataStart + <usize>offset)
    store<usize>(iov, <usize>(data.length - offset), sizeof<usize>())
    if (fd_write(fd, iov, 1, iov + 2 * sizeof<usize>()) != 0) return
    const written = <i32>load<usize>(iov, 2 * sizeof<usize>())
    if (written <= 0) return
    offset += written
  }
}

/** The arguments after the program name, as raw bytes. */
function readArgs(): Bytes[] {
  const sizes = memory.data(16)
  if (args_sizes_get(sizes, sizes + sizeof<usize>()) != 0) return []
  const count = <i32>load<usize>(sizes)
  const bufferSize = <i32>load<usize>(sizes, sizeof<usize>())
  const pointers = new ArrayBuffer(count * <i32>sizeof<usize>())
  const buffer = new ArrayBuffer(bufferSize > 0 ? bufferSize : 1)
  const base = changetype<usize>(pointers)
  if (args_get(base, changetype<usize>(buffer)) != 0) return []
  const args: Bytes[] = []
  for (let i = 1; i < count; i++) {
    const start = load<usize>(base + <usize>i * sizeof<usize>())
    const arg: Bytes = []
    let at = start
    while (load<u8>(at) != 0) {
      arg.push(load<u8>(at))
      at++
    }
    args.push(arg)
  }
  return args
}

/** Perl's `\s` on a byte string: tab, newline, vertical tab, form feed, carriage return, space. */
function isSpace(byte: u8): bool {
  return byte == SPACE || (byte >= 9 && byte <= 13)
}

/** Text::CharWidth's mbswidth in the C locale. */
function width(line: Bytes): i32 {
  let total = 0
  for (let i = 0; i < line.length; i++) {
    const byte = line[i]
    if (byte >= 0x80) return -1
    total += byte >= 0x20 && byte != 0x7f ? 1 : -1
  }
  return total
}

function isDigit(line: Bytes, at: i32): bool {
  return at < line.length && line[at] >= 48 && line[at] <= 57
}

/** Removes colour escapes (`ESC [ n ; n … m`), which cowsay leaves out when it measures the balloon. */
function withoutColours(line: Bytes): Bytes {
  const out: Bytes = []
  let i = 0
  while (i < line.length) {
    if (line[i] == 27 && i + 1 < line.length && line[i + 1] == 91 && isDigit(line, i + 2)) {
      let j = i + 2
      while (isDigit(line, j)) j++
      while (j < line.length && line[j] == 59 && isDigit(line, j + 1)) {
        j++
        while (isDigit(line, j)) j++
      }
      if (j < line.length && line[j] == 109) {
        i = j + 1
        continue
      }
    }
    out.push(line[i])
    i++
  }
  return out
}

/** Splits on `\n\s+` (Perl's `split`, which drops trailing empty fields). */
function paragraphs(text: Bytes): Bytes[] {
  const fields: Bytes[] = []
  let field: Bytes = []
  let i = 0
  while (i < text.length) {
    if (text[i] == NEWLINE && i + 1 < text.length && isSpace(text[i + 1])) {
      fields.push(field)
      field = []
      i += 2
      while (i < text.length && isSpace(text[i])) i++
      continue
    }
    field.push(text[i])
    i++
  }
  fields.push(field)
  while (fields.length > 0 && fields[fields.length - 1].length == 0) fields.pop()
  return fields
}

function squeezeSpaces(text: Bytes): Bytes {
  const out: Bytes = []
  for (let i = 0; i < text.length; i++) {
    if (!isSpace(text[i])) out.push(text[i])
    else if (i == 0 || !isSpace(text[i - 1])) out.push(SPACE)
  }
  return out
}

/**
 * A byte Text::Wrap may break a line at. Its pattern uses \pM, which puts the whole pattern under
 * Unicode rules, so there \s also matches the Latin-1 bytes NEL (0x85) and NBSP (0xa0), even in
 * the middle of a UTF-8 character. Other whitespace is squeezed to spaces before wrapping.
 */
function isBreak(byte: u8): bool {
  return byte == SPACE || byte == 0x85 || byte == 0xa0
}

function onlyBreaksFrom(text: Bytes, from: i32): bool {
  for (let i = from; i < text.length; i++) if (!isBreak(text[i])) return false
  return true
}

/**
 * Text::Wrap's wrap on one squeezed paragraph: each line is the longest run of at most columns - 1
 * bytes that ends before a break byte or at the end, and that break byte is dropped; a word longer
 * than that is cut. A break byte the paragraph ends with stays on its last line.
 */
function wrap(text: Bytes, columns: i32): Bytes {
  if (columns < 2) {
    // Text::Wrap gives up and returns its argument list, which fill() takes in scalar context.
    return onlyBreaksFrom(text, 0) ? [] : ascii('3')
  }
  const limit = columns - 1
  const out: Bytes = []
  let pos = 0
  let first = true
  let remainder: Bytes = []
  while (!onlyBreaksFrom(text, pos)) {
    let length = limit < text.length - pos ? limit : text.length - pos
    while (length >= 0 && pos + length < text.length && !isBreak(text[pos + length])) length--
    if (!first) out.push(NEWLINE)
    first = false
    if (length >= 0) {
      append(out, text.slice(pos, pos + length))
      pos += length
      if (pos < text.length) {
        remainder = [text[pos]]
        pos++
      } else {
        remainder = []
      }
    } else {
      append(out, text.slice(pos, pos + limit))
      pos += limit
      remainder = [NEWLINE]
    }
  }
  append(out, remainder)
  return out
}

/** Text::Wrap's fill("", "", message) followed by split("\n"). */
function balloonLines(message: Bytes, columns: i32): Bytes[] {
  const filled: Bytes = []
  const parts = paragraphs(message)
  for (let i = 0; i < parts.length; i++) {
    if (i > 0) {
      filled.push(NEWLINE)
      filled.push(NEWLINE)
    }
    append(filled, wrap(squeezeSpaces(parts[i]), columns))
  }
  const lines: Bytes[] = []
  let line: Bytes = []
  for (let i = 0; i < filled.length; i++) {
    if (filled[i] == NEWLINE) {
      lines.push(line)
      line = []
    } else {
      line.push(filled[i])
    }
  }
  lines.push(line)
  while (lines.length > 0 && lines[lines.length - 1].length == 0) lines.pop()
  return lines
}

function padded(line: Bytes, columns: i32): Bytes {
  const out = line.slice(0)
  append(out, repeat(SPACE, columns - width(line)))
  return out
}

function balloonRow(out: Bytes, left: string, line: Bytes, columns: i32, right: string): void {
  append(out, ascii(left + ' '))
  append(out, padded(line, columns))
  append(out, ascii(' ' + right + '\n'))
}

function balloon(lines: Bytes[]): Bytes {
  let max = -1
  for (let i = 0; i < lines.length; i++) {
    const length = width(withoutColours(lines[i]))
    if (length > max) max = length
  }
  if (max == -1) max = 0
  const out: Bytes = [SPACE]
  append(out, repeat(95, max + 2))
  out.push(NEWLINE)
  if (lines.length < 2) {
    balloonRow(out, '<', lines.length == 0 ? [] : lines[0], max, '>')
  } else {
    balloonRow(out, '/', lines[0], max, '\\')
    for (let i = 1; i < lines.length - 1; i++) balloonRow(out, '|', lines[i], max, '|')
    balloonRow(out, '\\', lines[lines.length - 1], max, '/')
  }
  out.push(SPACE)
  append(out, repeat(DASH, max + 2))
  out.push(NEWLINE)
  return out
}

function cow(eyes: Bytes, tongue: Bytes): Bytes {
  const out = ascii('        \\   ^__^\n         \\  (')
  append(out, eyes)
  append(out, ascii(')\\_______\n            (__)\\       )\\/\\\n             '))
  append(out, tongue)
  append(out, ascii(' ||----w |\n                ||     ||\n'))
  return out
}

function firstTwo(value: Bytes | null): Bytes {
  if (value === null) return []
  return value.length > 2 ? value.slice(0, 2) : value.slice(0)
}

/** Perl's numeric value of a string, as far as a column count needs it. */
function toNumber(value: Bytes | null): i32 {
  if (value === null) return 0
  let i = 0
  while (i < value.length && isSpace(value[i])) i++
  let sign = 1
  if (i < value.length && (value[i] == 43 || value[i] == DASH)) {
    if (value[i] == DASH) sign = -1
    i++
  }
  let number = 0
  while (isDigit(value, i) && number < 100000) {
    number = number * 10 + <i32>(value[i] - 48)
    i++
  }
  return sign * number
}

const OPTIONS = 'bde:f:ghlLnNpstT:wW:y'
const USAGE =
  'cow{say,think} version 3.03, (c) 1999 Tony Monroe\n' +
  'Usage: cowsay [-bdgpstwy] [-h] [-e eyes] [-f cowfile] \n' +
  '          [-l] [-n] [-T tongue] [-W wrapcolumn] [message]\n'
const COW_LIST =
  'Cow files in /usr/share/cowsay/cows:\n' +
  'apt bud-frogs bunny calvin cheese cock cower daemon default dragon\n' +
  'dragon-and-cow duck elephant elephant-in-snake eyes flaming-sheep fox\n' +
  'ghostbusters gnu hellokitty kangaroo kiss koala kosh luke-koala\n' +
  'mech-and-cow milk moofasa moose pony pony-smaller ren sheep skeleton\n' +
  'snowman stegosaurus stimpy suse three-eyes turkey turtle tux unipony\n' +
  'unipony-smaller vader vader-koala www\n'

function fail(text: string, code: u32): void {
  write(STDERR, ascii(text))
  proc_exit(code)
}

function main(): void {
  const args = readArgs()
  const flags = new Set<u8>()
  const values = new Map<u8, Bytes | null>()

  // Getopt::Std's getopts: options may be bundled and take the rest of the argument as a value.
  while (args.length > 0 && args[0].length >= 2 && args[0][0] == DASH) {
    const arg = args[0]
    const option = arg[1]
    const rest = arg.slice(2)
    if (arg.length == 2 && option == DASH) {
      args.shift()
      break
    }
    const at = OPTIONS.indexOf(String.fromCharCode(option))
    if (at >= 0 && option < 0x80) {
      if (at + 1 < OPTIONS.length && OPTIONS.charCodeAt(at + 1) == 58) {
        args.shift()
        values.set(option, rest.length > 0 ? rest : args.length > 0 ? args.shift() : null)
      } else {
        flags.add(option)
        if (rest.length == 0) args.shift()
        else args[0] = [DASH].concat(rest)
      }
      continue
    }
    if (option == DASH && (equals(rest, 'help') || equals(rest, 'version'))) {
      // Perl prints its own version and help text here (to stderr), then carries on.
      write(STDERR, ascii('cowsay: Getopt::Std help and version text is not reproduced\n'))
      args.shift()
      continue
    }
    const unknown: Bytes = ascii('Unknown option: ')
    unknown.push(option)
    unknown.push(NEWLINE)
    write(STDERR, unknown)
    if (rest.length > 0) args[0] = [DASH].concat(rest)
    else args.shift()
  }

  if (flags.has(104)) return fail(USAGE, 255)
  if (flags.has(108)) {
    write(STDOUT, ascii(COW_LIST))
    return
  }
  if (values.has(102)) {
    const name = values.get(102)
    if (name === null || !(equals(name, 'default') || equals(name, 'default.cow'))) {
      const text: Bytes = ascii('cowsay: Could not find ')
      if (name !== null) append(text, name)
      append(text, ascii(' cowfile!\n'))
      write(STDERR, text)
      return proc_exit(2)
    }
  }

  // With no argument (or a false one, "" or "0") cowsay reads stdin, which a job does not have.
  let lines: Bytes[] = []
  if (args.length > 0 && !(args[0].length == 0 || equals(args[0], '0'))) {
    if (flags.has(110)) return fail(USAGE, 255)
    const message: Bytes = []
    for (let i = 0; i < args.length; i++) {
      if (i > 0) message.push(SPACE)
      append(message, args[i])
    }
    lines = balloonLines(message, values.has(87) ? toNumber(values.get(87)) : 40)
  }

  let eyes = values.has(101) ? firstTwo(values.get(101)) : ascii('oo')
  let tongue = values.has(84) ? firstTwo(values.get(84)) : ascii('  ')
  if (flags.has(98)) eyes = ascii('==')
  if (flags.has(100)) {
    eyes = ascii('xx')
    tongue = ascii('U ')
  }
  if (flags.has(103)) eyes = ascii('$$')
  if (flags.has(112)) eyes = ascii('@@')
  if (flags.has(115)) {
    eyes = ascii('**')
    tongue = ascii('U ')
  }
  if (flags.has(116)) eyes = ascii('--')
  if (flags.has(119)) eyes = ascii('OO')
  if (flags.has(121)) eyes = ascii('..')

  const out = balloon(lines)
  append(out, cow(eyes, tongue))
  write(STDOUT, out)
}

main()
