/** The `Authorization` header value of HTTP Basic auth (RFC 7617): `Basic base64(username:password)`. */
export function basicAuthorization(auth: { username: string; password: string }): string {
  return `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
}
