"""The page /  of --serve shows: the MJPEG stream and the latest readings, refreshed from /stats.json."""

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>edgetl live view</title>
<style>
  body { margin: 0; font: 15px/1.4 system-ui, sans-serif; background: #181818; color: #eee; }
  main { display: flex; flex-wrap: wrap; gap: 16px; padding: 16px; align-items: flex-start; }
  img { max-width: min(100%, 960px); height: auto; background: #000; border-radius: 4px; }
  aside { min-width: 220px; flex: 1; }
  h1 { font-size: 17px; margin: 0 0 8px; }
  dl { display: grid; grid-template-columns: auto 1fr; gap: 2px 12px; margin: 0 0 12px; }
  dt { color: #aaa; } dd { margin: 0; font-variant-numeric: tabular-nums; overflow-wrap: anywhere; }
  #reading { font-size: 40px; font-weight: 600; letter-spacing: 4px; min-height: 1.2em; color: #6f6; }
  ol { padding-left: 20px; margin: 4px 0; font-variant-numeric: tabular-nums; }
  .ended { color: #fa0; }
</style>
</head>
<body>
<main>
  <img id="stream" src="/stream.mjpg" alt="annotated live stream">
  <aside>
    <h1>edgetl live view</h1>
    <div id="reading" title="labels read left to right">&ndash;</div>
    <dl>
      <dt>FPS</dt><dd id="fps">&ndash;</dd>
      <dt>latency</dt><dd id="latency">&ndash;</dd>
      <dt>frames</dt><dd id="frames">&ndash;</dd>
      <dt>provider</dt><dd id="provider">&ndash;</dd>
      <dt>source</dt><dd id="source">&ndash;</dd>
    </dl>
    <div>last frame's detections:</div>
    <ol id="detections"></ol>
    <div id="state"></div>
  </aside>
</main>
<script>
const text = (id, value) => { document.getElementById(id).textContent = value; };
async function refresh() {
  try {
    const stats = await (await fetch("/stats.json", {cache: "no-store"})).json();
    const detections = ((stats.last || {}).detections || []).slice().sort((a, b) => a.box[0] - b.box[0]);
    text("reading", detections.map(d => d.label).join(" ") || "\\u2013");
    text("fps", stats.fps ?? "\\u2013");
    text("latency", stats.latency_ms != null ? stats.latency_ms + " ms" : "\\u2013");
    text("frames", stats.frames);
    text("provider", stats.provider ?? "\\u2013");
    text("source", stats.source ?? "\\u2013");
    const list = document.getElementById("detections");
    list.replaceChildren(...detections.map(d => {
      const item = document.createElement("li");
      item.textContent = `${d.label}  ${d.score.toFixed(2)}  at ${d.box.join(", ")}`;
      return item;
    }));
    text("state", "");
  } catch (e) {
    text("state", "the run has ended (or the device cannot be reached)");
    document.getElementById("state").className = "ended";
  }
}
refresh();
setInterval(refresh, 500);
</script>
</body>
</html>
"""
