// Characters left in a textarea with data-counter (its maxlength is the limit).

/** @param {ParentNode} root */
export function bindCounters(root) {
  for (const area of root.querySelectorAll("textarea[data-counter]")) {
    if (area.dataset.counterBound) continue;
    area.dataset.counterBound = "1";
    const output = document.getElementById(area.dataset.counter);
    if (!output) continue;
    const limit = Number(area.getAttribute("maxlength")) || 280;
    const update = () => {
      const left = limit - area.value.length;
      output.textContent = String(left);
      output.parentElement?.classList.toggle("over", left < 0);
    };
    area.addEventListener("input", update);
    update();
  }
}
