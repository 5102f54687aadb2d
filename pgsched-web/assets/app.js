// pgsched dashboard: the little it needs beyond HTML. Served from the binary; no inline
// script anywhere (the Content-Security-Policy forbids it).
"use strict";

// Every form with data-confirm asks before it posts.
document.addEventListener("submit", (event) => {
  const form = event.target;
  const question = form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});

// "Select all" checks every checkbox of its group.
document.addEventListener("change", (event) => {
  const box = event.target;
  const group = box.getAttribute("data-select-all");
  if (group) {
    for (const other of document.querySelectorAll(`input[data-group="${group}"]`)) {
      other.checked = box.checked;
    }
  }
});

// The overview's live part is fetched again every few seconds (short polling).
window.addEventListener("DOMContentLoaded", () => {
  const live = document.getElementById("live");
  if (!live) {
    return;
  }
  const url = live.getAttribute("data-live");
  const every = Number(live.getAttribute("data-every")) || 2000;
  const refresh = async () => {
    try {
      const response = await fetch(url, { credentials: "same-origin", cache: "no-store" });
      if (response.ok) {
        live.innerHTML = await response.text();
        live.setAttribute("data-refreshed", String(Date.now()));
      }
    } catch (error) {
      // The server is restarting or gone: try again at the next tick.
    }
    window.setTimeout(refresh, every);
  };
  window.setTimeout(refresh, every);
});
