/**
 * Making DOM nodes, the one way the widget draws: attributes and text (textContent, text
 * nodes), never markup, so nothing from the network or the organisation's config is ever
 * parsed as HTML (T-94).
 */

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Readonly<Record<string, string>> = {},
  text?: string,
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

function icon(size: number, d: string, transform?: string): SVGSVGElement {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", String(size));
  svg.setAttribute("height", String(size));
  svg.setAttribute("aria-hidden", "true");
  const path = document.createElementNS(ns, "path");
  path.setAttribute("d", d);
  path.setAttribute("fill", "currentColor");
  if (transform !== undefined) path.setAttribute("transform", transform);
  svg.appendChild(path);
  return svg;
}

/** A speech bubble, drawn with the DOM rather than markup or an emoji font. */
export function chatIcon(): SVGSVGElement {
  return icon(28, "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z");
}

/** A thumb, up or (turned half a circle) down. */
export function thumbIcon(down: boolean): SVGSVGElement {
  return icon(
    16,
    "M2 21h4V9H2v12zm20-11a2 2 0 0 0-2-2h-6.3l1-4.6v-.3c0-.4-.2-.8-.5-1.1L13.2 1 " +
      "7.6 7.6C7.2 8 7 8.5 7 9v10a2 2 0 0 0 2 2h9c.8 0 1.5-.5 1.8-1.2l3-7.1c.1-.2.2-.5.2-.7v-2z",
    down ? "rotate(180 12 12)" : undefined,
  );
}

/** An address a citation may link to, or null: https only, with a host and no credentials. */
export function safeLink(value: unknown): string | null {
  if (typeof value !== "string" || value.length > 2000 || !/^https:\/\//i.test(value)) return null;
  try {
    const url = new URL(value);
    if (url.protocol !== "https:" || !url.hostname || url.username || url.password) return null;
    return url.href;
  } catch {
    return null;
  }
}
