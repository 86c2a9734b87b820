/* plotly.js locale zh-CN: modebar texts and Chinese dates on the time axis (registered once,
   used by the charts of Chinese pages: Plotly.newPlot(..., {locale: 'zh-CN'})). */
(function () {
  if (!window.Plotly) { return; }
  Plotly.register({
    moduleType: 'locale',
    name: 'zh-CN',
    dictionary: {
      'Autoscale': '自动缩放', 'Box Select': '矩形选择', 'Download plot as a png': '下载为 PNG 图片',
      'Download plot': '下载图表', 'Lasso Select': '套索选择', 'Pan': '平移', 'Produced with Plotly': '由 Plotly 生成',
      'Reset': '重置', 'Reset axes': '重置坐标轴', 'Reset view': '重置视图',
      'Compare data on hover': '悬停时比较数据', 'Show closest data on hover': '悬停时显示最近的数据',
      'Snapshot succeeded': '快照已生成', 'Toggle Spike Lines': '切换辅助线', 'Zoom': '缩放',
      'Zoom in': '放大', 'Zoom out': '缩小', 'Double-click to zoom back out': '双击还原',
      'trace': '数据', 'new text': '新文本'
    },
    format: {
      days: ['星期日', '星期一', '星期二', '星期三', '星期四', '星期五', '星期六'],
      shortDays: ['周日', '周一', '周二', '周三', '周四', '周五', '周六'],
      months: ['一月', '二月', '三月', '四月', '五月', '六月', '七月', '八月', '九月', '十月', '十一月', '十二月'],
      shortMonths: ['1月', '2月', '3月', '4月', '5月', '6月', '7月', '8月', '9月', '10月', '11月', '12月'],
      date: '%Y-%m-%d',
      year: '%Y年',
      month: '%Y年%-m月',
      dayMonth: '%-m月%-d日',
      dayMonthYear: '%Y年%-m月%-d日'
    }
  });
})();
