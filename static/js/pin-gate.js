// A field phone's lock on what it shows (issue 9; interrupters/auth/cookies.py). A classic
// script in <head>, so it runs before the page is drawn: with a PIN on this browser ("pin")
// and no unlocked time ("pin_until", gone after a restart) or one that has passed (idle), the
// page is marked locked and app.css hides participant codes, also on pages kept offline.
(() => {
  const root = document.documentElement;
  const prefix = root.dataset.pinGate || "";
  const read = (name) => document.cookie.split("; ").find((c) => c.startsWith(`${prefix}${name}=`))?.split("=")[1];
  const check = () => root.toggleAttribute("data-locked", read("pin") === "1" && !(Number(read("pin_until")) * 1000 > Date.now()));
  check();
  setInterval(check, 15000);
  addEventListener("pageshow", check);
})();
