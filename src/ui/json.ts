/**
 * Turns a command result into JSON-safe data: bigint → decimal string, Uint8Array → 0x-hex,
 * Date → ISO-8601, undefined fields dropped.
 */
export function toJsonSafe(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString()
  if (value instanceof Date) return value.toISOString()
  if (value instanceof Uint8Array) return `0x${Buffer.from(value).toString('hex')}`
  if (Array.isArray(value)) return value.map((item) => toJsonSafe(item))
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const [key, item] of Object.entries(value)) {
      if (item !== undefined) out[key] = toJsonSafe(item)
    }
    return out
  }
  return value
}
