// The page posts the form to /api/predict and shows the answer; nothing leaves this computer.
"use strict";
const ROLES = [["os", "Overall survival"], ["dm", "DM-free survival"], ["clinical_only", "Clinical-only (OS)"]];
const form = document.getElementById("patient-form");
const statusLine = document.getElementById("status");
const errorBox = document.getElementById("error");
let lastAnswer = null;

function percent(p) { return (100 * p).toFixed(1) + " %"; }
function timeLabel(days) {
  const years = days / 365;
  return Number.isInteger(years) ? `${years} year${years === 1 ? "" : "s"} (${days} d)` : `${days} d`;
}
function parts(answer) {
  return ROLES.map(([role, title]) => [role, title, role === "os" ? answer : answer[role]])
              .filter(([, , part]) => part);
}

function show(answer) {
  lastAnswer = answer;
  const head = document.getElementById("survival-head");
  const body = document.getElementById("survival-body");
  const list = document.getElementById("percentiles");
  head.innerHTML = ""; body.innerHTML = ""; list.innerHTML = "";
  const present = parts(answer);
  const origin = answer.time_origin && answer.time_origin !== "not stated" ? answer.time_origin
    : "time zero (not stated by the models)";
  head.insertAdjacentHTML("beforeend", `<th>time since ${origin}</th>`);
  for (const [, title] of present) head.insertAdjacentHTML("beforeend", `<th>${title}</th>`);
  answer.times.forEach((t, i) => {
    const row = document.createElement("tr");
    row.insertAdjacentHTML("beforeend", `<td>${timeLabel(t)}</td>`);
    for (const [role, , part] of present) {
      const cell = document.createElement("td");
      const value = document.createElement("span");
      value.id = `${role}-survival-${i}`;
      value.textContent = percent(part.survival[i]);
      cell.appendChild(value);
      if (part.survival_low) {
        const interval = document.createElement("span");
        interval.id = `${role}-interval-${i}`;
        interval.className = "interval";
        interval.textContent = ` (${percent(part.survival_low[i])} to ${percent(part.survival_high[i])})`;
        cell.appendChild(interval);
      }
      row.appendChild(cell);
    }
    body.appendChild(row);
  });
  const notes = document.getElementById("intervals");
  notes.innerHTML = "";
  for (const [role, title, part] of present) {
    const line = document.createElement("span");
    line.id = `${role}-interval-method`;
    line.textContent = `${title}: ${part.interval_method}.`;
    notes.appendChild(line);
    notes.appendChild(document.createElement("br"));
  }
  const warnings = document.getElementById("warnings");
  warnings.innerHTML = "";
  const found = present.flatMap(([, title, part]) => (part.warnings || []).map((w) => `${title} model: ${w}`));
  warnings.hidden = !found.length;
  if (found.length) {
    const head = document.createElement("strong");
    head.textContent = "This patient lies outside what the models were trained on:";
    warnings.appendChild(head);
    const items = document.createElement("ul");
    for (const text of [...new Set(found)]) {
      const item = document.createElement("li"); item.textContent = text; items.appendChild(item);
    }
    warnings.appendChild(items);
  }
  for (const [role, title, part] of present) {
    const item = document.createElement("li");
    item.innerHTML = `${title}: predicted risk higher than ` +
      `<span id="${role}-percentile">${part.risk_percentile.toFixed(1)}</span> % of the training cohort's patients`;
    list.appendChild(item);
  }
  document.getElementById("curves").src = answer.curves_png;
  const gradcamFigure = document.getElementById("gradcam-figure");
  gradcamFigure.hidden = !answer.gradcam_png;
  if (answer.gradcam_png) document.getElementById("gradcam").src = answer.gradcam_png;
  document.getElementById("result").hidden = false;
}

function showError(detail, field) {
  errorBox.textContent = detail;
  errorBox.hidden = false;
  document.getElementById("result").hidden = true;
  const input = field && document.getElementById(`field-${field}`);
  if (input) { input.classList.add("invalid"); input.focus(); }
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  errorBox.hidden = true;
  for (const el of form.querySelectorAll(".invalid")) el.classList.remove("invalid");
  const data = new FormData(form);
  for (const input of form.querySelectorAll("input[type=file]")) {
    if (!input.files.length) data.delete(input.name);  // an empty file input is "not given"
  }
  statusLine.textContent = "computing...";
  document.getElementById("predict-button").disabled = true;
  try {
    const response = await fetch("api/predict", { method: "POST", body: data });
    const answer = await response.json();
    if (response.ok) { show(answer); statusLine.textContent = "done"; }
    else { showError(answer.detail, answer.field); statusLine.textContent = "refused"; }
  } catch (err) {
    showError(`no answer from the server (${err})`, null);
    statusLine.textContent = "failed";
  } finally {
    document.getElementById("predict-button").disabled = false;
  }
});

function download(name, url) {
  const link = document.createElement("a");
  link.href = url; link.download = name;
  document.body.appendChild(link); link.click(); link.remove();
}

function loadImage(src) {
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => resolve(img); img.onerror = reject; img.src = src;
  });
}

document.getElementById("download-json").addEventListener("click", () => {
  if (!lastAnswer) return;
  const blob = new Blob([JSON.stringify(lastAnswer, null, 2)], { type: "application/json" });
  download("sarcoma-survival-report.json", URL.createObjectURL(blob));
});

// One PNG: the numbers as text, then the curves and the Grad-CAM figure.
document.getElementById("download-png").addEventListener("click", async () => {
  if (!lastAnswer) return;
  const images = [await loadImage(lastAnswer.curves_png)];
  if (lastAnswer.gradcam_png) images.push(await loadImage(lastAnswer.gradcam_png));
  const lines = ["sarcoma_survival prediction (research software, not for clinical decisions)",
                 new Date().toISOString()];
  for (const [, title, part] of parts(lastAnswer)) {
    lines.push(`${title}: risk percentile ${part.risk_percentile.toFixed(1)} in the training cohort; ` +
      part.times.map((t, i) => `S(${t} d) = ${percent(part.survival[i])}` +
        (part.survival_low ? ` (${percent(part.survival_low[i])} to ${percent(part.survival_high[i])})` : ""))
        .join(", "));
  }
  const width = Math.max(900, ...images.map((im) => im.width));
  const textHeight = 22 * lines.length + 20;
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = textHeight + images.reduce((h, im) => h + im.height + 10, 0);
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "white"; ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.fillStyle = "black"; ctx.font = "15px sans-serif";
  lines.forEach((line, i) => ctx.fillText(line, 10, 25 + 22 * i));
  let y = textHeight;
  for (const im of images) { ctx.drawImage(im, 0, y); y += im.height + 10; }
  download("sarcoma-survival-report.png", canvas.toDataURL("image/png"));
});
