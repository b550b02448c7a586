/**
 * Options read from `Config`. Effect's `Config.unwrap` takes every value that is no `Config` for a
 * nested map and reads its entries, so an option given as `undefined` (left out, under
 * TypeScript's default settings) threw a TypeError, a plain string (`encoding: "etf"`, from
 * JavaScript) overflowed the stack, and a `Redacted` token was read as a map of nothing; here the
 * first is left out, as plain options leave it (and a nested map left empty with it), and any other
 * value that is no `Config`, nor a plain object or a list of them, is a `ConfigError` naming the option.
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { isQuotable, kindOf, notShown, thrownText } from "./printable.ts"
import { isPlainObject, isRecord } from "./record.ts"

// a plain object keyed by strings alone, as a map of options is (its entries not looked at): the
// prototypes of Effect's data (`Redacted`, `Duration`) are keyed by symbols
const isPlainMap = (value: unknown): value is Readonly<Record<string, unknown>> =>
  isRecord(value) && isPlainObject(value) && Object.getOwnPropertySymbols(value).length === 0

// a map of options: a plain object, whose entries are options (a `Redacted`, a `Duration`, a `Set`
// or a class instance are values, which `unwrap` read as maps of their own entries: the token given
// as `Redacted.make(...)` was taken as left out, and a custom Encoding as a class was dropped); so
// is a plain object of functions (`Etf.encoding`: its members were each told to be a Config)
const isMap = (value: unknown): boolean =>
  isPlainMap(value) && !Config.isConfig(value) && Object.values(value).every((entry) => typeof entry !== "function")

// what a value that is no map is, for a message: an object that inherits options from another one
// (made with `Object.create(defaults)`, whose inherited entries Effect's readers would not see) is
// told apart, with the way out
const kindOfValue = (value: unknown): string => {
  if (!isRecord(value) || Config.isConfig(value)) return kindOf(value)
  try {
    const prototype: unknown = Object.getPrototypeOf(value)
    return isMap(prototype) && !Object.hasOwn(prototype as object, "constructor")
      ? "an object that inherits its entries (spread them into a plain object: `{ ...defaults, ... }`)"
      : kindOf(value)
  } catch {
    // (a prototype whose getter throws: told as what it is)
    return kindOf(value)
  }
}

// a value that is neither a `Config` nor a map or list of them where one goes (the options
// themselves: no map of them), refused as it is read
const notAConfig = (path: ReadonlyArray<string>, value: unknown): Config.Config<never> =>
  Config.mapOrFail(Config.succeed(undefined), () =>
    Either.left(
      ConfigError.InvalidData(
        [...path],
        path.length === 0
          ? `options must be an object of Configs, got ${kindOfValue(value)}`
          : `${path.join(".")} must be a Config (Config.succeed for a fixed value), got ${kindOfValue(value)}`
      )
    ))

// what a getter or a proxy of the program's options threw, at `path`
class Unreadable {
  constructor(readonly path: ReadonlyArray<string>, readonly thrown: unknown) {}
}

// `look` at the options at `path`, which may run a getter or a proxy's trap of the program's
const reading = <A>(path: ReadonlyArray<string>, look: () => A): A => {
  try {
    return look()
  } catch (thrown) {
    throw thrown instanceof Unreadable ? thrown : new Unreadable(path, thrown)
  }
}

// `wrapped` (at `path`) as one Config, `undefined` where it is left out: an entry given as
// `undefined`, or a map whose entries all are (a struct of none is no Config Effect can read); a list
// of `Config`s (a shard pair, `events`) read as a list (`unwrap` read it as a map keyed "0", "1"...,
// which the options then refused). Throws `Unreadable` where a getter or a proxy throws.
const configOf = (wrapped: unknown, path: ReadonlyArray<string>): Config.Config<unknown> | undefined => {
  if (wrapped === undefined || reading(path, () => Config.isConfig(wrapped))) return wrapped as Config.Config<unknown> | undefined
  if (Array.isArray(wrapped)) {
    const items = reading(path, () => Array.from(wrapped as ReadonlyArray<unknown>))
    return items.length === 0
      ? Config.succeed([])
      : Config.all(items.map((item, index) => configOf(item, [...path, String(index)]) ?? notAConfig([...path, String(index)], item)))
  }
  if (!reading(path, () => isPlainMap(wrapped))) return notAConfig(path, wrapped)
  const map: Readonly<Record<string, unknown>> = wrapped as Readonly<Record<string, unknown>>
  // each entry read once, as `make` reads options: a getter may answer each read anew
  const read = reading(path, () => Object.keys(map)).map((key) => [key, reading([...path, key], () => map[key])] as const)
  // (a plain object of functions, `Etf.encoding`, is one value: its members were each told to be a Config)
  if (read.some(([, value]) => typeof value === "function")) return notAConfig(path, map)
  const entries = read.flatMap(([key, value]) => {
    const config = configOf(value, [...path, key])
    return config === undefined ? [] : [[key, config] as const]
  })
  return entries.length === 0 ? undefined : Config.all(Object.fromEntries(entries))
}

// the options as one Config, or, where a getter or a proxy of the program's threw, a `ConfigError`
// naming the option (as `make` tells it with `InvalidOptions`; it was a defect)
const optionsConfig = (wrapped: unknown): Either.Either<Config.Config<unknown>, ConfigError.ConfigError> => {
  try {
    if (!reading([], () => Config.isConfig(wrapped) || isPlainMap(wrapped))) {
      return Either.left(ConfigError.InvalidData([], `options must be an object of Configs, got ${kindOfValue(wrapped)}`))
    }
    return Either.right(configOf(wrapped, []) ?? Config.succeed({}))
  } catch (thrown) {
    if (!(thrown instanceof Unreadable)) throw thrown
    const named = thrown.path.length === 0 ? "options" : thrown.path.join(".")
    // what it threw is quoted only when short (the token, which a Config holds here, unknown, may be
    // in it), and never the token's own getter's
    const text = thrownText(thrown.thrown)
    const why = named === "token" ? "" : isQuotable(text) ? `: ${text}` : ` (what it threw, ${text.length} characters, not shown)`
    return Either.left(ConfigError.InvalidData([...thrown.path], `${named} could not be read${why}`))
  }
}

// Effect's readers say what they could not read ("Expected an integer value but received ..."):
// the token, in the wrong variable, would be quoted. A value longer than a few words is not.
const received = / but received ([\s\S]*)$/

// a value quoted inside another reader's message (`Schema.Config`'s "Unable to decode "..." into a
// number"): quoted back only when short, as the value after "but received"
const quotedString = /"((?:[^"\\]|\\.)*)"/g

// the value as read, without the quotes Effect puts around a string
const unquotedValue = (value: string): string =>
  value.length >= 2 && value.startsWith(`"`) && value.endsWith(`"`) ? value.slice(1, -1) : value

const unquoted = (error: ConfigError.ConfigError): ConfigError.ConfigError => {
  switch (error._op) {
    case "And":
      return ConfigError.And(unquoted(error.left), unquoted(error.right))
    case "Or":
      return ConfigError.Or(unquoted(error.left), unquoted(error.right))
    case "InvalidData": {
      const value = received.exec(error.message)?.[1]
      const message = value === undefined || isQuotable(unquotedValue(value))
        ? error.message
        : `${error.message.slice(0, -value.length)}${notShown(value)}`
      const masked = message.replace(quotedString, (literal, text: string) => isQuotable(text) ? literal : notShown(text))
      return masked === error.message ? error : ConfigError.InvalidData(error.path, masked)
    }
    default:
      return error
  }
}

// as effect/Config's: an object with keys, whose entries are wrapped one by one
type IsPlainObject<A> = [A] extends [object] ? [keyof A] extends [never] ? false : true : false

/**
 * Effect's `Config.Config.Wrap`: `A` as a `Config`, or, an object, each entry wrapped; an entry that
 * may be left out may also be given as `undefined`, at every level (it keeps its default), as a
 * program writing `gateway: given ? Config.string("GATEWAY") : undefined` does (Effect's type
 * refused it where optional properties are exact).
 *
 * @since 0.1.0
 */
export type Wrap<A> = [NonNullable<A>] extends [infer T] ? [IsPlainObject<T>] extends [true] ?
      | { readonly [K in keyof A]: Wrap<A[K]> | (undefined extends A[K] ? undefined : never) }
      | Config.Config<A>
  : Config.Config<A>
  : Config.Config<A>

/**
 * The options `wrapped` describes, read from `Config`; one given as `undefined` keeps its default.
 * A value it cannot read is named by its key, and quoted only when short: the token, put in
 * another option's variable by mistake, is not.
 *
 * @since 0.1.0
 */
export const read = <A>(wrapped: Wrap<A>): Effect.Effect<A, ConfigError.ConfigError> =>
  Effect.suspend(() =>
    Either.match(optionsConfig(wrapped), {
      onLeft: (error) => Effect.fail(unquoted(error)),
      onRight: (config) => Effect.mapError(config as Config.Config<A>, unquoted)
    })
  )
