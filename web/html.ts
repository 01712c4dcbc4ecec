// Small helpers shared by the pages of the site.

export const escapeHtml = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** The page of a source file, relative to the site's root: src/model/cpu/paging.ts.html. */
export const sourcePageHref = (file: string): string => `src/${file}.html`;

export interface PageOptions {
  readonly title: string;
  readonly body: string;
  /** '' at the site's root, '../../' two folders down (for source pages). */
  readonly depth?: string;
  readonly scripts?: readonly string[];
  readonly bodyClass?: string;
}

/** A whole page: the same head and navigation everywhere. Nothing is loaded
 * from outside the site. */
export function page(options: PageOptions): string {
  const d = options.depth ?? '';
  const scripts = (options.scripts ?? []).map((s) => `<script src="${d}${s}"></script>`).join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(options.title)} — mesovirt</title>
<link rel="stylesheet" href="${d}style.css">
<link rel="icon" href="data:,">
</head>
<body${options.bodyClass !== undefined ? ` class="${options.bodyClass}"` : ''}>
<nav class="top"><a href="${d}index.html">mesovirt spec</a> <a href="${d}explorer.html">explorer</a> <a href="${d}src/index.html">sources</a></nav>
<main>
${options.body}
</main>
${scripts}
</body>
</html>
`;
}
