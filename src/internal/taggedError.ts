/**
 * Tagged errors whose message is made from their fields.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"

/**
 * `Data.TaggedError`, but its JSON (`JSON.stringify`, and Effect's logger given the error itself)
 * carries its `message` beside its fields: Data's writes the fields only, and an error whose
 * message is a getter made from them was logged as `{"code":4014,"shard":2,"_tag":"FatalClose"}`,
 * without the words that say what to do.
 *
 * @since 0.1.0
 */
export const TaggedError = <Tag extends string>(tag: Tag): ReturnType<typeof Data.TaggedError<Tag>> => {
  class WithMessage extends Data.TaggedError(tag)<Record<string, unknown>> {
    override toJSON(): unknown {
      return { ...(super.toJSON() as object), message: this.message }
    }
  }
  return WithMessage as unknown as ReturnType<typeof Data.TaggedError<Tag>>
}
