/**
 * The one rule for requests that carry Twilio credentials: they go to the configured API origin and nowhere else.
 *
 * A paged list names its own next page (`meta.next_page_url` on the Serverless and Studio APIs, `next_page_uri` on
 * the 2010 REST API), and twilio-node follows it as given: `Page.nextPage()` hands `meta.next_page_url` straight to
 * the client's `request()`, Basic auth included, whatever its host (twilio 6.2.0, lib/base/Page.js
 * getNextPageUrl/nextPage; `list()` and `each()` page through it the same way). So every page is checked here
 * before it is requested: a page on another host is an error naming that host, and nothing is sent to it.
 */

/** An origin a request may go to: exactly (`https://api.twilio.com`), or by a pattern over `URL.origin`, named. */
export type AllowedOrigin = string | { pattern: RegExp; name: string };

/** A request to a host outside the configured API origin was refused before anything was sent. */
export class ForeignHostError extends Error {
  constructor(
    message: string,
    readonly host: string,
  ) {
    super(message);
    this.name = 'ForeignHostError';
  }
}

const matches = (allowed: AllowedOrigin, origin: string) =>
  typeof allowed === 'string' ? new URL(allowed).origin === origin : allowed.pattern.test(origin);

/**
 * The absolute URL of a request, when its origin is one of `allowed`; else a ForeignHostError naming its host. A
 * path (`/v1/...`) is taken on `base` by concatenation, not URL resolution: `//evil.example/x` stays on `base`.
 */
export function onApiOrigin(target: string, allowed: readonly AllowedOrigin[], base?: string): string {
  const absolute = target.startsWith('/') && base !== undefined ? `${base.replace(/\/+$/, '')}${target}` : target;
  let url: URL;
  try {
    url = new URL(absolute);
  } catch {
    throw new ForeignHostError(`refused a request to "${absolute.slice(0, 120)}": not an absolute URL`, '');
  }
  if (allowed.some((a) => matches(a, url.origin))) return absolute;
  const names = allowed.map((a) => (typeof a === 'string' ? new URL(a).origin : a.name)).join(', ');
  throw new ForeignHostError(
    `refused a request to ${url.host} (${url.origin}${url.pathname.slice(0, 80)}): not the configured Twilio API origin (${names}), and it would carry the credentials`,
    url.host,
  );
}
