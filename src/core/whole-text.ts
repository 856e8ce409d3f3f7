/**
 * Whether a pattern written as /^...$/ matches the whole of a text, alike under both njs engines.
 *
 * The njs engine's RegExp (PCRE) lets `$` match before a final line feed, so /^[a-z]+$/ accepts
 * "alice\n" there and refuses it under QuickJS and Node. Every validation of text that reaches a
 * header, a cookie attribute, a variable name or an id goes through this instead of calling test()
 * itself, so that a trailing line feed is refused on every engine. Only for patterns that never
 * accept a line feed anywhere (character classes that leave it out).
 */
export function matchesWhole(pattern: RegExp, text: string): boolean {
  return pattern.test(text) && text.charCodeAt(text.length - 1) !== 10;
}
