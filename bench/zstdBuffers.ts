/**
 * What a zstd-stream connection holds after its first large message: 1000 decompressors, each fed
 * one GUILD_CREATE of about 93 KB, kept alive; the RSS and the memory outside the JS heap they
 * added, per connection, after two full collections. By hand, not part of `npm run bench`:
 *
 *   node --expose-gc --import tsx bench/zstdBuffers.ts
 */
import * as Compress from "../src/codec/Compress.ts"
import * as ZstdDecompress from "../src/codec/ZstdDecompress.ts"

const connections = 1000
const members = Array.from({ length: 1500 }, (_, i) => ({ id: String(1e17 + i * 7919), name: `member-${i}-${(i * 2654435761 % 2 ** 32).toString(36)}` }))
const text = JSON.stringify({ op: 0, s: 1, t: "GUILD_CREATE", d: { members } })
const frame = Compress.unsafeMake("zstd-stream").compress(text)

const gc = (globalThis as { gc?: () => void }).gc
if (gc === undefined) throw new Error("run with node --expose-gc")
const outside = () => {
  const usage = process.memoryUsage()
  return { rss: usage.rss, external: usage.external + usage.arrayBuffers }
}

gc()
gc()
const before = outside()
const kept: Array<unknown> = []
for (let i = 0; i < connections; i++) {
  const decompressor = ZstdDecompress.make(64 * 1024 * 1024)
  const message = decompressor.push(frame)
  if (!(message instanceof Uint8Array) || message.length !== text.length) throw new Error(`connection ${i}: no whole message`)
  kept.push(decompressor)
}
gc()
gc()
const after = outside()
const perConnection = (bytes: number) => `${(bytes / connections / 1024).toFixed(1)} KiB`
console.log(`${connections} zstd-stream connections after one ${text.length}-byte message: RSS ${perConnection(after.rss - before.rss)}, outside the JS heap ${perConnection(after.external - before.external)} each (${kept.length} kept)`)
