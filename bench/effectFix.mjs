/**
 * A module hook that applies, in the process that imports it, the one-line change to Effect that
 * bench/STREAMGC.md asks for: `Channel.fromEffect` stores its thunk through a local instead of
 * assigning the arrow function to a property (`op.effect = () => effect`). V8 allocates a function
 * literal assigned to a property directly in old space, so that thunk keeps the effect it returns,
 * and with it the chunk `Stream.runForEach` handed to the sink, alive until the next mark-compact.
 *
 * Used only by the benchmark, to show what the change would buy (`--import ./bench/effectFix.mjs`);
 * nothing in the library depends on it. Fails the process if the line is not where it is expected.
 *
 * @since 0.1.0
 */
import { register } from "node:module"
import { isMainThread } from "node:worker_threads"

const target = /\/node_modules\/effect\/dist\/esm\/internal\/core-stream\.js$/
const before = "  op.effect = () => effect;\n"
const after = "  const evaluate = () => effect;\n  op.effect = evaluate;\n"

/**
 * The load hook: rewrites Effect's internal core-stream module, leaves every other module alone.
 *
 * @since 0.1.0
 */
export const load = async (url, context, nextLoad) => {
  const loaded = await nextLoad(url, context)
  if (!target.test(url)) return loaded
  const source = String(loaded.source)
  if (!source.includes(before)) throw new Error(`effectFix: Channel.fromEffect is not as expected in ${url}`)
  return { ...loaded, source: source.replace(before, after), shortCircuit: true }
}

if (isMainThread) register(import.meta.url)
