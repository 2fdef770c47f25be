/**
 * A second, independent UnixFS implementation written from the specs (UnixFS protobuf, dag-pb,
 * go-unixfs's balanced builder), sharing no code or configuration with the importer the product
 * uses: the UnixFS `Data` message is encoded by hand here and only the dag-pb node encoding comes
 * from `@ipld/dag-pb`. Plain directories only (no HAMT). Used to cross-check multi-chunk files and
 * large flat directories where no published kubo CID exists.
 */
import {createHash} from 'node:crypto'
import {readFile, readdir, lstat} from 'node:fs/promises'
import {join} from 'node:path'

import * as dagPB from '@ipld/dag-pb'
import {base58btc} from 'multiformats/bases/base58'
import {CID} from 'multiformats/cid'

const CHUNK = 262_144
const WIDTH = 174
const TYPE_DIRECTORY = 1
const TYPE_FILE = 2

interface Node {
  readonly cid: CID
  /** Bytes of this block plus all blocks below it (a dag-pb link's Tsize). */
  readonly cumulative: number
  /** File bytes below this node. */
  readonly fileSize: number
}

function varint(value: number): number[] {
  const out: number[] = []
  let v = value
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80)
    v = Math.floor(v / 0x80)
  }
  out.push(v)
  return out
}

/** UnixFS `Data` message (proto2): Type=1, Data=2, filesize=3, blocksizes=4 (unpacked). */
function unixfsData(
  type: number,
  data: Uint8Array | undefined,
  fileSize: number | undefined,
  blockSizes: number[],
): Uint8Array {
  const parts: Uint8Array[] = [Uint8Array.from([0x08, ...varint(type)])]
  if (data !== undefined && data.byteLength > 0)
    parts.push(Uint8Array.from([0x12, ...varint(data.byteLength)]), data)
  const tail: number[] = []
  if (fileSize !== undefined) tail.push(0x18, ...varint(fileSize))
  for (const size of blockSizes) tail.push(0x20, ...varint(size))
  parts.push(Uint8Array.from(tail))
  return Buffer.concat(parts)
}

function block(data: Uint8Array, links: dagPB.PBLink[]): {cid: CID; length: number} {
  const bytes = dagPB.encode(dagPB.prepare({Data: data, Links: links}))
  const digest = createHash('sha256').update(bytes).digest()
  const multihash = Uint8Array.from([0x12, 0x20, ...digest])
  return {cid: CID.decode(multihash), length: bytes.byteLength}
}

function leaf(chunk: Uint8Array): Node {
  const {cid, length} = block(unixfsData(TYPE_FILE, chunk, chunk.byteLength, []), [])
  return {cid, cumulative: length, fileSize: chunk.byteLength}
}

function internal(children: Node[]): Node {
  const data = unixfsData(
    TYPE_FILE,
    undefined,
    children.reduce((sum, child) => sum + child.fileSize, 0),
    children.map((child) => child.fileSize),
  )
  const links = children.map((child) => ({Hash: child.cid, Name: '', Tsize: child.cumulative}))
  const {cid, length} = block(data, links)
  return {
    cid,
    cumulative: length + children.reduce((sum, child) => sum + child.cumulative, 0),
    fileSize: children.reduce((sum, child) => sum + child.fileSize, 0),
  }
}

/** Balanced tree of the given depth over `leaves` (each subtree as full as possible, left first). */
function balanced(leaves: Node[], depth: number): Node {
  if (depth === 0) {
    const only = leaves[0]
    if (only === undefined || leaves.length !== 1) throw new Error('a depth-0 tree is one leaf')
    return only
  }
  const span = WIDTH ** (depth - 1)
  const children: Node[] = []
  for (let i = 0; i < leaves.length; i += span) children.push(balanced(leaves.slice(i, i + span), depth - 1))
  return internal(children)
}

function fileNode(content: Uint8Array): Node {
  if (content.byteLength <= CHUNK) return leaf(content)
  const leaves: Node[] = []
  for (let offset = 0; offset < content.byteLength; offset += CHUNK) {
    leaves.push(leaf(content.subarray(offset, offset + CHUNK)))
  }
  let depth = 1
  while (WIDTH ** depth < leaves.length) depth += 1
  return balanced(leaves, depth)
}

async function pathNode(path: string): Promise<Node> {
  const stats = await lstat(path)
  if (stats.isFile()) return fileNode(await readFile(path))
  if (!stats.isDirectory()) throw new Error(`${path}: only files and directories`)
  const names = (await readdir(path)).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
  const links: dagPB.PBLink[] = []
  let below = 0
  for (const name of names) {
    const child = await pathNode(join(path, name))
    links.push({Hash: child.cid, Name: name, Tsize: child.cumulative})
    below += child.cumulative
  }
  const {cid, length} = block(unixfsData(TYPE_DIRECTORY, undefined, undefined, []), links)
  return {cid, cumulative: length + below, fileSize: 0}
}

/** The CIDv0 of a file or plain directory tree, computed independently of the product. */
export async function referenceCid(path: string): Promise<string> {
  const node = await pathNode(path)
  return base58btc.encode(node.cid.multihash.bytes).slice(1)
}
