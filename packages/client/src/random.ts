/** 12 random characters (base64url of 9 random bytes): stream, link and invitation ids. */
export function randomId(): string {
  const b = new Uint8Array(9)
  crypto.getRandomValues(b)
  return btoa(String.fromCharCode(...b)).replace(/\+/g, '-').replace(/\//g, '_')
}
