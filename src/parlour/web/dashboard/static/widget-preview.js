// The Widget page's live preview (web/dashboard/widget_appearance.py): on every change to the
// form, the widget itself (loaded by the page from this server) is drawn again inside the
// preview box with the form's values, through the widget's preview API (widget/src/main.ts):
//   const p = Parlour.preview(hostElement, config); p.update(config); p.destroy()
// where config has the shape of GET /widget/v1/config/{widgetId}. Nothing is saved until the
// form is; nothing here talks to the network. A logo just chosen shows once saved (the widget
// draws logos from Parlour's own server only).
// The page's CSP allows scripts from this origin only: no inline script, no eval.
(() => {
  "use strict";
  const form = document.getElementById("widget-form");
  const box = document.getElementById("widget-preview");
  const note = document.getElementById("preview-note");
  const contrastNote = document.getElementById("contrast-note");
  if (!form || !box || !note) return;

  const WHITE = "#ffffff";
  const INK = "#1c2433";
  let shown = null;

  const field = (name) => form.elements.namedItem(name);
  const text = (name) => {
    const value = (field(name)?.value || "").trim();
    return value ? value : null;
  };
  const checked = (name) => Boolean(field(name)?.checked);

  // WCAG 2.x relative luminance and contrast, as the server checks the brand colour.
  function luminance(hex) {
    const channel = (i) => {
      const c = parseInt(hex.slice(i, i + 2), 16) / 255;
      return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    };
    return 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
  }
  function contrast(a, b) {
    const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
    return (hi + 0.05) / (lo + 0.05);
  }

  function logoUrl() {
    if (checked("remove_logo")) return null;
    return form.dataset.logoUrl || null;
  }

  // The form's values in the shape of the widget's config (GET /widget/v1/config/{id}).
  function config() {
    const colour = (field("brand_colour")?.value || "#1f5fbf").toLowerCase();
    const position = form.querySelector("input[name=launcher_position]:checked");
    return {
      title: text("title") || "Chat with us",
      greeting: text("greeting"),
      brand_colour: colour,
      logo_url: logoUrl(),
      launcher_position: position && position.value === "left" ? "left" : "right",
      hours_message: text("hours_message"),
      features: {
        attachments: checked("feature_attachments"),
        rating: checked("feature_rating"),
        transcript: checked("feature_transcript"),
        person: checked("feature_person"),
      },
      language: field("language")?.value || "auto",
    };
  }

  function sayContrast(colour) {
    if (!contrastNote || !/^#[0-9a-f]{6}$/.test(colour)) return;
    const white = contrast(colour, WHITE);
    const ink = contrast(colour, INK);
    const best = Math.max(white, ink);
    const on = white >= ink ? "white" : "dark";
    contrastNote.textContent = best >= 4.5
      ? `Contrast ${best.toFixed(1)}:1 with ${on} text: it passes WCAG AA (4.5:1).`
      : `Contrast only ${best.toFixed(1)}:1 with ${on} text: WCAG AA needs 4.5:1. Choose a darker or lighter colour; this one will not be saved.`;
  }

  function draw() {
    const Parlour = window.Parlour;
    const values = config();
    sayContrast(values.brand_colour);
    if (!Parlour || typeof Parlour.preview !== "function") {
      note.textContent = "This version of the widget cannot be previewed; save to see your changes on your site.";
      return;
    }
    try {
      if (shown) shown.update(values);
      else shown = Parlour.preview(box, values);
      const logo = field("logo");
      note.textContent = logo && logo.files && logo.files.length
        ? "As your customers will see it once saved; the new logo shows here once saved."
        : "As your customers will see it once saved.";
    } catch (failure) {
      note.textContent = "The preview could not be drawn.";
    }
  }

  form.addEventListener("input", draw);
  form.addEventListener("change", draw);
  draw();
})();
