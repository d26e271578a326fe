// Stands in for react-devtools-core in the CLI bundle: ink imports it only when DEV=true.
export default { initialize() {}, connectToDevTools() {} };
