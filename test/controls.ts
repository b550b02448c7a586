/**
 * What no text shown to a person may keep: a C0, DEL or C1 control character, a bidi override or
 * isolate, a line or paragraph separator, or half a surrogate pair (text cut inside a character).
 */

/** Matches any C0, DEL or C1 control character, bidi embedding, override or isolate, or line or paragraph separator. */
export const anyControl = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\u2028\u2029]/

/** Matches a surrogate that is not part of a pair. */
export const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/
