// Report pages: draws every plotly figure a page carries in data-figure, and follows the
// progress of monthly PDFs being built (archive page). A static file, not an inline script:
// the content security policy allows scripts from this site only.
(function () {
  if (window.Plotly) {
    document.querySelectorAll('.chart[data-figure]').forEach(function (el) {
      var fig = JSON.parse(el.dataset.figure);
      Plotly.newPlot(el, fig.data, fig.layout, {displaylogo: false, responsive: true});
    });
  }
  document.querySelectorAll('tr[data-status="building"][data-url]').forEach(function (tr) {
    var timer = setInterval(function () {
      fetch(tr.dataset.url, {credentials: 'same-origin'}).then(function (r) { return r.json(); })
        .then(function (s) {
          var cell = tr.querySelector('.progress');
          if (cell) { cell.textContent = s.progress + '% ' + (s.step || ''); }
          if (s.status !== 'building') { clearInterval(timer); location.reload(); }
        });
    }, 1000);
  });
})();
