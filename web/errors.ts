// A problem with the site's input (a spec chapter, a guest source, an
// option): `npm run site` prints its message and exits with code 2.
export class SiteError extends Error {
  override readonly name = 'SiteError';
}
