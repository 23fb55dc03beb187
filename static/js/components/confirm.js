// Ask before a destructive button submits its form: <button data-confirm="Sure?">.

/** @param {ParentNode} root */
export function bindConfirms(root) {
  for (const button of root.querySelectorAll("button[data-confirm]")) {
    if (button.dataset.confirmBound) continue;
    button.dataset.confirmBound = "1";
    button.addEventListener("click", (event) => {
      if (!window.confirm(button.dataset.confirm)) event.preventDefault();
    });
  }
}
