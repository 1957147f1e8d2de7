import http from "node:http";
import type { AddressInfo } from "node:net";

/**
 * Small websites served on loopback for the audits the browser tests start.
 * - a quick site of a few dozen pages with some defects (missing titles, a broken link);
 * - a slow one of the same shape whose every page answers after a delay, so an audit of it
 *   runs long enough to be cancelled while it works.
 */
export type TestSite = { url: string; slowUrl: string; close: () => Promise<void> };

const PAGES = 24;
const SLOW_PAGES = 600;
const SLOW_DELAY_MS = 2000;

/** The quick site links each page to a few neighbours; the slow one is a wide tree, so its
 * crawl has hundreds of pages to fetch within a few clicks of the start. */
function linkTargets(index: number, total: number, wide: boolean): number[] {
  if (wide) return Array.from({ length: 8 }, (_, k) => index * 8 + k + 1).filter((target) => target < total);
  return [1, 2, 3, 5, 8].map((step) => (index + step) % total);
}

function page(prefix: string, index: number, total: number, wide = false): string {
  const links = linkTargets(index, total, wide)
    .map((target) => `<a href="${prefix}/page-${target}.html">Page ${target}</a>`)
    .join(" ");
  // Every fifth page has defects the checks should report.
  const flawed = index % 5 === 4;
  const title = flawed ? "" : `<title>Test page ${index} of the loopback site</title>`;
  const description = flawed ? "" : `<meta name="description" content="Page ${index}, written for the dashboard's browser tests to audit.">`;
  const body = Array.from({ length: 60 }, (_, i) => `word${i}`).join(" ");
  return `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">${title}${description}</head>
<body><h1>Page ${index}</h1><p>${body}</p><nav>${links} <a href="${prefix}/missing-${index}.html">gone</a></nav>
<img src="${prefix}/pixel.gif"${flawed ? "" : ' alt="pixel"'}></body></html>`;
}

const GIF = Buffer.from("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7", "base64");

async function serve(pages: number, delayMs: number): Promise<{ url: string; server: http.Server }> {
  const server = http.createServer((request, response) => {
    const path = new URL(request.url ?? "/", "http://localhost").pathname;
    const reply = (status: number, type: string, body: string | Buffer) => {
      response.writeHead(status, { "Content-Type": type });
      response.end(body);
    };
    const answer = () => {
      if (path === "/robots.txt") return reply(200, "text/plain", "User-agent: *\nAllow: /\n");
      if (path === "/pixel.gif") return reply(200, "image/gif", GIF);
      if (path === "/" || path === "/index.html") return reply(200, "text/html", page("", 0, pages, delayMs > 0));
      const match = /^\/page-(\d+)\.html$/.exec(path);
      if (match && Number(match[1]) < pages) return reply(200, "text/html", page("", Number(match[1]), pages, delayMs > 0));
      return reply(404, "text/html", "<!doctype html><title>Not found</title><h1>Not found</h1>");
    };
    if (delayMs > 0 && path !== "/robots.txt") setTimeout(answer, delayMs);
    else answer();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/`, server };
}

function close(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

export async function startTestSite(): Promise<TestSite> {
  const quick = await serve(PAGES, 0);
  const slow = await serve(SLOW_PAGES, SLOW_DELAY_MS);
  return {
    url: quick.url,
    slowUrl: slow.url,
    close: async () => {
      await Promise.all([close(quick.server), close(slow.server)]);
    },
  };
}
