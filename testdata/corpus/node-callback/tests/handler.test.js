// The developer's own unit test: runs with mocha, never ships.
const { expect } = require('chai');
const { handler } = require('../index');

describe('handler', () => {
  it('rejects an order without lines', (done) => {
    handler({ body: '{"lines":[]}' }, { getRemainingTimeInMillis: () => 1000 }, (err) => {
      expect(err).to.be.an('error');
      done();
    });
  });
});
