// A "Print" button for the monthly report: shown only where JavaScript runs (the browser's own
// print command works without it), bound by data-print (no inline script: CSP).

/** @param {ParentNode} root */
export function bindPrint(root = document) {
  for (const button of root.querySelectorAll("[data-print]")) {
    if (!(button instanceof HTMLButtonElement) || button.dataset.bound) continue;
    button.dataset.bound = "1";
    button.hidden = false;
    button.addEventListener("click", () => window.print());
  }
}
