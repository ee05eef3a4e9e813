// A string in one flat piece of memory. V8 keeps a string built by concatenation (a path joined from its
// directory and name, a template literal) as a tree of its parts, 32 bytes a node, and a substring of 13 characters
// or more as a slice that holds the whole string it was cut from; both stay so for as long as the string is kept.
// For strings kept per file in large trees (paths, stat stamps), one flat copy each is the smaller form.

/** `text` as one flat string (the same characters). */
export function flatString(text: string): string {
  // join() writes its parts into one new sequential string.
  return text.length < 2 ? text : [text.slice(0, 1), text.slice(1)].join('');
}
