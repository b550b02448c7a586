/**
 * What no text shown to a person may keep: a C0, DEL or C1 control character.
 */

/** Matches any C0, DEL or C1 control character. */
export const anyControl = /[\u0000-\u001f\u007f-\u009f]/
