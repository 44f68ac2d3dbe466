/// The status page: one HTML file with its style and script, no build step. It polls
/// `/api/status` every second (or `?refresh=MS`) and redraws the tiles; labels come from `/api/labels`.
enum StatusPageAssets {
    static let html = #"""
<!doctype html>
<html lang="zh">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>fieldgate station</title>
<style>
  :root { font-family: "Noto Sans CJK SC", "WenQuanYi Micro Hei", system-ui, sans-serif; color: #111; background: #f4f5f7; }
  body { margin: 0; padding: 8px; }
  header { display: flex; justify-content: space-between; align-items: baseline; gap: 8px; flex-wrap: wrap; }
  h1 { font-size: 20px; margin: 0 0 6px; }
  #offline { display: none; background: #b00020; color: #fff; padding: 6px 10px; border-radius: 6px; }
  #bays { display: grid; grid-template-columns: repeat(auto-fill, minmax(240px, 1fr)); gap: 8px; }
  .tile { background: #fff; border-radius: 8px; padding: 8px 10px; border-left: 10px solid #888; min-height: 120px; }
  .tile h2 { font-size: 18px; margin: 0 0 4px; display: flex; justify-content: space-between; }
  .tile .state { font-weight: bold; font-size: 17px; margin-bottom: 4px; }
  dl { display: grid; grid-template-columns: auto 1fr; gap: 1px 8px; margin: 0; font-size: 14px; }
  dt { color: #555; }
  dd { margin: 0; }
  .bar { height: 10px; background: #ddd; border-radius: 5px; overflow: hidden; margin: 4px 0; }
  .bar > div { height: 100%; background: #1565c0; }
  .reason { font-size: 14px; margin-top: 4px; }
  .next { font-size: 14px; font-weight: bold; margin-top: 2px; }
  .identifying { border-color: #9e9e9e; } .collecting, .verifying { border-color: #1565c0; }
  .done { border-color: #2e7d32; } .freed { border-color: #00695c; } .error { border-color: #c62828; }
  .undocked { opacity: 0.6; }
  #panels { display: grid; grid-template-columns: repeat(auto-fit, minmax(240px, 1fr)); gap: 8px; margin-top: 8px; }
  .panel { background: #fff; border-radius: 8px; padding: 8px 10px; font-size: 15px; }
  .panel h3 { margin: 0 0 4px; font-size: 16px; }
  #warnings li { color: #b00020; }
  .none { color: #555; padding: 20px; }
</style>
</head>
<body>
<header><h1 id="title">fieldgate</h1><span id="offline"></span></header>
<main>
  <section id="bays" aria-live="polite"></section>
  <section id="panels">
    <div class="panel" id="sync"></div>
    <div class="panel" id="disk"></div>
    <div class="panel" id="silent"></div>
    <div class="panel" id="warnings-panel"><h3 id="warnings-title"></h3><ul id="warnings"></ul></div>
  </section>
</main>
<script>
"use strict";
let labels = {};
// Redraw every second, or as `?refresh=MS` says (200 ms to 10 s).
const refresh = Math.min(10000, Math.max(200, Number(new URLSearchParams(location.search).get("refresh")) || 1000));
const lang = (navigator.languages && navigator.languages[0] || navigator.language || "zh").toLowerCase().startsWith("en") ? "en" : "zh";
document.documentElement.lang = lang;
function t(key) { const label = labels[key]; return label ? label[lang] : key; }
function el(tag, attrs, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}
function bytes(n) {
  const units = ["B", "KB", "MB", "GB", "TB"]; let u = 0; let v = n;
  while (v >= 1000 && u < units.length - 1) { v /= 1000; u += 1; }
  return u === 0 ? n + " B" : v.toFixed(1) + " " + units[u];
}
function duration(s) { s = Math.round(s); return s >= 3600 ? Math.floor(s / 3600) + " h " + Math.round(s % 3600 / 60) + " min" : s >= 60 ? Math.floor(s / 60) + " min " + (s % 60) + " s" : s + " s"; }
function row(list, key, value) { list.appendChild(el("dt", {}, t(key))); list.appendChild(el("dd", {}, value)); }
function tile(bay) {
  const node = el("article", { "class": "tile " + bay.state + (bay.docked ? "" : " undocked"), "data-serial": bay.serial, "data-state": bay.state });
  const heading = el("h2", {}, bay.serial);
  if (bay.battery !== undefined && bay.battery !== null) heading.appendChild(el("span", {}, bay.battery + "%"));
  node.appendChild(heading);
  node.appendChild(el("div", { "class": "state" }, t("state." + bay.state) + (bay.docked ? "" : " · " + t("bay.undocked"))));
  const list = el("dl");
  if (bay.officer) row(list, "bay.officer", bay.officer + (bay.officerName ? " " + bay.officerName : ""));
  if (bay.model) row(list, "bay.model", bay.model);
  if (bay.filesTotal > 0) row(list, "bay.files", bay.filesDone + " / " + bay.filesTotal);
  if (bay.bytesTotal > 0) row(list, "bay.bytes", bytes(bay.bytesDone) + " / " + bytes(bay.bytesTotal));
  if (bay.bytesPerSecond) row(list, "bay.rate", bytes(bay.bytesPerSecond) + "/s");
  if (bay.lateDocking > 0) row(list, "bay.late", bay.lateDocking);
  if (bay.etaSeconds !== undefined && bay.etaSeconds !== null && bay.state === "collecting") row(list, "bay.eta", duration(bay.etaSeconds));
  node.appendChild(list);
  if (bay.state === "collecting" || bay.state === "verifying") {
    const bar = el("div", { "class": "bar" }); const fill = el("div");
    fill.style.width = (bay.bytesTotal > 0 ? Math.min(100, 100 * bay.bytesDone / bay.bytesTotal) : 0) + "%";
    bar.appendChild(fill); node.appendChild(bar);
  }
  if (bay.reason) node.appendChild(el("div", { "class": "reason" }, bay.reason));
  if (bay.nextStep) node.appendChild(el("div", { "class": "next" }, t("bay.next") + ": " + bay.nextStep));
  return node;
}
function draw(status) {
  const bays = document.getElementById("bays");
  bays.replaceChildren(...(status.bays.length ? status.bays.map(tile) : [el("p", { "class": "none" }, t("bays.none"))]));
  const sync = document.getElementById("sync"); const s = status.sync;
  const list = el("dl");
  const server = !s.enrolled ? t("sync.notEnrolled") : s.serverReachable === true ? t("sync.reachable") : s.serverReachable === false ? t("sync.unreachable") : t("sync.unknown");
  row(list, "sync.rate", (100 * s.retainedOnlineRate).toFixed(1) + "% (" + s.receipted + "/" + s.collected + ")");
  row(list, "sync.pending", s.pending); row(list, "sync.uploading", s.uploading); row(list, "sync.receipted", s.receipted);
  row(list, "sync.server", server + (s.inUploadWindow ? "" : " · " + t("sync.outsideWindow")));
  if (s.lastReceiptAt) row(list, "sync.lastReceipt", new Date(s.lastReceiptAt).toLocaleString(lang === "zh" ? "zh-CN" : "en-GB"));
  if (s.waitingOverADay > 0) row(list, "sync.late", s.waitingOverADay);
  sync.replaceChildren(el("h3", {}, t("sync.title")), list);
  sync.setAttribute("data-rate", s.retainedOnlineRate); sync.setAttribute("data-reachable", String(s.serverReachable));
  const disk = document.getElementById("disk");
  disk.replaceChildren(el("h3", {}, t("disk.title")), el("div", {}, bytes(status.disk.freeBytes) + " " + t("disk.free") + " / " + bytes(status.disk.totalBytes)));
  const silent = document.getElementById("silent");
  const silentList = el("ul");
  for (const camera of status.silentCameras) {
    silentList.appendChild(el("li", { "data-serial": camera.serial }, camera.serial + (camera.officer ? " (" + camera.officer + ")" : "") + ": "
      + (camera.days === null ? t("silent.never") : camera.days + " " + t("silent.days"))));
  }
  silent.replaceChildren(el("h3", {}, t("silent.title")), silentList);
  silent.style.display = status.silentCameras.length ? "" : "none";
  document.getElementById("warnings-title").textContent = t("warnings.title");
  document.getElementById("warnings").replaceChildren(...status.warnings.map(w => el("li", {}, w)));
  document.getElementById("warnings-panel").style.display = status.warnings.length ? "" : "none";
}
async function poll() {
  const offline = document.getElementById("offline");
  try {
    const response = await fetch("/api/status", { cache: "no-store" });
    if (!response.ok) throw new Error(response.status);
    draw(await response.json());
    offline.style.display = "none";
    document.body.setAttribute("data-updated", Date.now());
  } catch (error) {
    offline.textContent = t("page.offline"); offline.style.display = "inline";
  }
  setTimeout(poll, refresh);
}
fetch("/api/labels").then(r => r.json()).then(table => {
  labels = table; document.getElementById("title").textContent = t("title"); document.title = t("title");
}).catch(() => {}).finally(poll);
</script>
</body>
</html>
"""#
}
