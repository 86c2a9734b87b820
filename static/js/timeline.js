// The device timeline: draws the plotly figure the page carries in data-figure.
// A static file, not an inline script: the content security policy allows scripts from
// this site only.
(function () {
  var el = document.getElementById('timeline');
  if (!el || !el.dataset.figure) { return; }
  var fig = JSON.parse(el.dataset.figure);
  if (window.Plotly) { Plotly.newPlot(el, fig.data, fig.layout, {displaylogo: false, responsive: true}); }
})();
