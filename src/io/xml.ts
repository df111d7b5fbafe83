/** Text safe inside XML/HTML element content and quoted attributes (SVG plots, HTML reports). */
export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
