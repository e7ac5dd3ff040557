exports.handler = async () => ({ report: true });
