// Before the page is drawn: a field phone locked (no unlocked time after a restart, or idle) hides participant codes (app.css; issue 9).
(() => {
  const root = document.documentElement;
  const read = (name) => document.cookie.split("; ").find((c) => c.startsWith(`${root.dataset.pinGate}${name}=`))?.split("=")[1];
  const check = () => root.toggleAttribute("data-locked", read("pin") === "1" && !(read("pin_until") * 1000 > Date.now()));
  check();
  setInterval(check, 15000);
  addEventListener("pageshow", check);
})();
