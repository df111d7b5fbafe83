// Opens an HTML file in Debian's headless Chromium (driven by puppeteer-core), as a person would see it:
// collects console errors and any network request (the report must open offline), measures what each
// chart drew, and saves a full-page screenshot.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import puppeteer from "puppeteer-core";

export const CHROMIUM = "/usr/bin/chromium";

export const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

export interface PageCheck {
  consoleErrors: string[];
  /** Requests to anything but file: and data: URLs. */
  networkRequests: string[];
  /** Per uPlot chart: its title and how many canvas pixels have one of its series' colours. */
  charts: { title: string; dataPixels: number }[];
  /** Per mask heat map: pixels coloured as an updated tensor. */
  heatmaps: { id: string; updatedPixels: number }[];
  /** Per inlined SVG plot: its drawn data marks (contour levels, surface quads, curves). */
  svgs: { name: string; marks: number }[];
  drawn: boolean;
  sections: string[];
}

// Runs in the page. A string, not a function: tsx's transform would add helpers the page lacks.
const MEASURE = `(() => {
  const parse = (c) => { const h = c.replace("#", ""); return [0, 2, 4].map((i) => parseInt(h.slice(i, i + 2), 16)); };
  const near = (c, d, i) => Math.abs(c[0] - d[i]) < 24 && Math.abs(c[1] - d[i + 1]) < 24 && Math.abs(c[2] - d[i + 2]) < 24;
  const charts = [...document.querySelectorAll(".chart")].map((box) => {
    const colors = (box.dataset.colors || "").split(",").filter(Boolean).map(parse);
    let n = 0;
    for (const cv of box.querySelectorAll("canvas")) {
      const d = cv.getContext("2d").getImageData(0, 0, cv.width, cv.height).data;
      for (let i = 0; i < d.length; i += 4) if (d[i + 3] >= 200 && colors.some((c) => near(c, d, i))) n++;
    }
    return { title: box.dataset.title || "", dataPixels: n };
  });
  const heatmaps = [...document.querySelectorAll("canvas.masks")].map((cv) => {
    const d = cv.getContext("2d").getImageData(0, 0, cv.width, cv.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i + 2] - d[i] > 40) n++;
    return { id: cv.id, updatedPixels: n };
  });
  const svgs = [...document.querySelectorAll("figure.plot")].map((f) => ({ name: f.dataset.name || "", marks: f.querySelectorAll("path.level, polygon.quad, path.curve").length }));
  return { charts, heatmaps, svgs, drawn: document.body.dataset.drawn === "true", sections: [...document.querySelectorAll("section")].map((s) => s.id) };
})()`;

export async function checkPage(htmlFile: string, screenshot: string): Promise<PageCheck> {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium), as .ci/run does`);
  const profile = mkdtempSync(join(tmpdir(), "rose-chromium-"));
  // A loaded machine can take Chromium past puppeteer's 30 s defaults to start and to load the page.
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: 180_000,
    protocolTimeout: 300_000,
    args: [...CHROMIUM_FLAGS, `--user-data-dir=${profile}`],
    defaultViewport: { width: 1280, height: 900 },
  });
  try {
    const page = await browser.newPage();
    page.setDefaultTimeout(180_000);
    page.setDefaultNavigationTimeout(180_000);
    const consoleErrors: string[] = [];
    const networkRequests: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error") consoleErrors.push(m.text());
    });
    page.on("pageerror", (e) => consoleErrors.push(String(e)));
    page.on("request", (r) => {
      if (!/^(file|data|about):/.test(r.url())) networkRequests.push(r.url());
    });
    await page.goto(pathToFileURL(resolve(htmlFile)).href, { waitUntil: "load" });
    const result = (await page.evaluate(MEASURE)) as Omit<PageCheck, "consoleErrors" | "networkRequests">;
    mkdirSync(dirname(screenshot), { recursive: true });
    await page.screenshot({ path: screenshot as `${string}.png`, fullPage: true });
    return { consoleErrors, networkRequests, ...result };
  } finally {
    await browser.close();
    rmSync(profile, { recursive: true, force: true });
  }
}
