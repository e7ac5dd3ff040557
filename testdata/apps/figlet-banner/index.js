//! lamina e2e app: renders banners with figlet, which reads its .flf font files from disk at run time.
const figlet = require('figlet');

exports.handler = async (event) => {
  const banners = {};
  for (const font of event.fonts) {
    // textSync reads fonts/<font>.flf next to figlet's own code: nothing imports those files.
    banners[font] = figlet.textSync(event.text, { font }).split('\n');
  }
  // fontsSync lists the fonts folder, so a slimmer that drops any font changes this answer.
  return { text: event.text, fontCount: figlet.fontsSync().length, banners };
};
