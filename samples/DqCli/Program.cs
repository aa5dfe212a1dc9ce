// dq — the DqMlNet command-line tool. `dq --help` lists the commands; `dq <command> --help` their options.
System.Globalization.CultureInfo.DefaultThreadCurrentCulture = System.Globalization.CultureInfo.InvariantCulture;
System.Globalization.CultureInfo.CurrentCulture = System.Globalization.CultureInfo.InvariantCulture;
// train and evaluate run LibTorch for long: they run in a child with DOTNET_JITMinOpts=1, which keeps TorchSharp's
// temporary scalars alive through each native call (see MinOptsRelaunch).
if (DqMlNet.Cli.MinOptsRelaunch.Needed(args)) return DqMlNet.Cli.MinOptsRelaunch.Run(args);
// Process-wide tuning is the application's call: the allocator settings for LibTorch's per-step buffers. LibTorch's
// thread count is set by a command only when its --threads option is given.
DqMlNet.Runtime.DqRuntime.ConfigureProcess(threads: null, tuneMalloc: true);
return DqMlNet.Cli.DqCommand.Run(args);
