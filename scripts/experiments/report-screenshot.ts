// Opens a `rose report` HTML file in headless Chromium (Debian's, as the tests do), saves a full-page
// screenshot and prints what drew: charts, heat maps, landscape plots, console errors, network requests.
//   node --import tsx scripts/experiments/report-screenshot.ts REPORT.html SHOT.png
import { checkPage } from "../../test/helpers/browser.ts";

const [html, shot] = process.argv.slice(2);
if (!html || !shot) {
  process.stderr.write("usage: node --import tsx scripts/experiments/report-screenshot.ts REPORT.html SHOT.png\n");
  process.exit(2);
}
const r = await checkPage(html, shot);
process.stdout.write(`${JSON.stringify(r, null, 1)}\n`);
process.exit(r.consoleErrors.length || r.networkRequests.length || !r.drawn ? 1 : 0);
