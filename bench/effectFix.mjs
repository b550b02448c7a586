/**
 * A module hook that applies, in the process that imports it, the two one-line changes to Effect
 * that bench/STREAMGC.md asks for. V8's parser allocates a function literal assigned directly to a
 * property in old space; such a closure keeps what it captured alive through every scavenge until
 * the next mark-compact, even once it is garbage itself. Two of Effect's hot paths store a closure
 * so, and the hook makes each store it through a local instead:
 *
 * - `Channel.fromEffect` (`op.effect = () => effect`): the thunk keeps the effect it returns, and
 *   with it the chunk `Stream.runForEach` handed to the sink.
 * - `uninterruptibleMask` (`effect.effect_instruction_i1 = oldFlags => ...`): the closure keeps the
 *   masked effect; every wait (`Effect.async`, and so every `Mailbox` take and `Deferred` await)
 *   goes through it (`onInterrupt` is an `onExit`), so each wait's objects are kept and promoted.
 *
 * Used only by the benchmark, to show what the changes would buy (`--import ./bench/effectFix.mjs`);
 * nothing in the library depends on it. Fails the process if a line is not where it is expected.
 *
 * @since 0.1.0
 */
import { register } from "node:module"
import { isMainThread } from "node:worker_threads"

const changes = [
  {
    module: /\/node_modules\/effect\/dist\/esm\/internal\/core-stream\.js$/,
    what: "Channel.fromEffect",
    before: "  op.effect = () => effect;\n",
    after: "  const evaluate = () => effect;\n  op.effect = evaluate;\n"
  },
  {
    module: /\/node_modules\/effect\/dist\/esm\/internal\/core\.js$/,
    what: "uninterruptibleMask",
    before: "export const uninterruptibleMask = f => custom(f, function () {\n" +
      "  const effect = new EffectPrimitive(OpCodes.OP_UPDATE_RUNTIME_FLAGS);\n" +
      "  effect.effect_instruction_i0 = RuntimeFlagsPatch.disable(runtimeFlags_.Interruption);\n" +
      "  effect.effect_instruction_i1 = oldFlags =>",
    after: "export const uninterruptibleMask = f => custom(f, function () {\n" +
      "  const effect = new EffectPrimitive(OpCodes.OP_UPDATE_RUNTIME_FLAGS);\n" +
      "  effect.effect_instruction_i0 = RuntimeFlagsPatch.disable(runtimeFlags_.Interruption);\n" +
      "  const restore = oldFlags =>"
  }
]

/** The masked effect's continuation, stored after the local it was made in (second change). */
const restoreLine = /^( {2}const restore = oldFlags =>.*;)\n( {2}return effect;)$/m

/**
 * The load hook: rewrites Effect's two internal modules, leaves every other module alone.
 *
 * @since 0.1.0
 */
export const load = async (url, context, nextLoad) => {
  const loaded = await nextLoad(url, context)
  const change = changes.find((candidate) => candidate.module.test(url))
  if (change === undefined) return loaded
  const source = String(loaded.source)
  if (!source.includes(change.before)) throw new Error(`effectFix: ${change.what} is not as expected in ${url}`)
  let fixed = source.replace(change.before, change.after)
  if (change.what === "uninterruptibleMask") {
    if (!restoreLine.test(fixed)) throw new Error(`effectFix: ${change.what} is not as expected in ${url}`)
    fixed = fixed.replace(restoreLine, "$1\n  effect.effect_instruction_i1 = restore;\n$2")
  }
  return { ...loaded, source: fixed, shortCircuit: true }
}

if (isMainThread) register(import.meta.url)
