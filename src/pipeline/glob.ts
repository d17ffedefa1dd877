/**
 * Glob patterns (`*`, `?`, `[abc]`) as used by `off(event)` and `matchLabels`, like Python's `fnmatch`.
 * @module
 */

const cache = new Map<string, RegExp>();

/**
 * Compiles a glob pattern to an anchored regular expression (cached).
 * @example
 * ```ts
 * globToRegExp("node.*").test("node.3"); // true
 * ```
 */
export function globToRegExp(pattern: string): RegExp {
  let re = cache.get(pattern);
  if (re !== undefined) return re;
  let src = "^";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === "*") src += ".*";
    else if (c === "?") src += ".";
    else if (c === "[") {
      const end = pattern.indexOf("]", i + 2);
      if (end < 0) src += "\\[";
      else {
        let body = pattern.slice(i + 1, end).replace(/\\/g, "\\\\");
        if (body.startsWith("!")) body = "^" + body.slice(1);
        src += `[${body}]`;
        i = end;
      }
    } else src += c.replace(/[.+^${}()|\\\]]/g, "\\$&");
  }
  re = new RegExp(src + "$", "s");
  if (cache.size > 1000) cache.clear();
  cache.set(pattern, re);
  return re;
}

/**
 * True when `name` matches the glob `pattern`.
 * @example
 * ```ts
 * globMatch("task.*", "task.finish"); // true
 * ```
 */
export function globMatch(pattern: string, name: string): boolean {
  return globToRegExp(pattern).test(name);
}

/**
 * True when the string contains glob metacharacters.
 * @example
 * ```ts
 * isGlob("task.*"); // true
 * isGlob("task.finish"); // false
 * ```
 */
export function isGlob(pattern: string): boolean {
  return /[*?[]/.test(pattern);
}
