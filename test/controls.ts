/**
 * What no text shown to a person may keep: a C0, DEL or C1 control character, or half a
 * surrogate pair (text cut inside a character).
 */

/** Matches any C0, DEL or C1 control character. */
export const anyControl = /[\u0000-\u001f\u007f-\u009f]/

/** Matches a surrogate that is not part of a pair. */
export const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/
