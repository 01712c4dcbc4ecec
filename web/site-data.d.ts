// The data the site build puts into the explorer's bundle (web/build.ts).
declare module 'site-data' {
  const data: unknown;
  export default data;
}
