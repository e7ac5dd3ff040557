exports.handler = async () => "bye";
