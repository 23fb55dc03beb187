// Presentation mode for the briefing meeting's projector: one section at a time, moved with
// the arrow keys, space, Page Up and Page Down. Without it the page is one long page.
/** @param {ParentNode} root */
export function bindPresentation(root) {
  const deck = root.querySelector("[data-presentation]");
  if (!(deck instanceof HTMLElement) || deck.dataset.bound) return;
  deck.dataset.bound = "1";
  const sections = [...deck.querySelectorAll("[data-section]")];
  const position = deck.querySelector("[data-presentation-position]");
  let current = 0;
  const show = (index) => {
    current = Math.max(0, Math.min(sections.length - 1, index));
    sections.forEach((section, i) => { section.hidden = i !== current; });
    if (position) position.textContent = (deck.dataset.textPosition || "{n}/{total}").replace("{n}", String(current + 1)).replace("{total}", String(sections.length));
  };
  deck.classList.add("presenting");
  show(0);
  deck.focus();
  document.addEventListener("keydown", (event) => {
    if (!deck.isConnected || event.altKey || event.ctrlKey || event.metaKey) return;
    const step = { ArrowRight: 1, ArrowDown: 1, PageDown: 1, " ": event.shiftKey ? -1 : 1, ArrowLeft: -1, ArrowUp: -1, PageUp: -1, Home: -current, End: sections.length }[event.key];
    if (step === undefined) return;
    event.preventDefault();
    show(current + step);
  });
}
