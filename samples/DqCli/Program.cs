// dq — the DqMlNet command-line tool. `dq --help` lists the commands; `dq <command> --help` their options.
System.Globalization.CultureInfo.DefaultThreadCurrentCulture = System.Globalization.CultureInfo.InvariantCulture;
System.Globalization.CultureInfo.CurrentCulture = System.Globalization.CultureInfo.InvariantCulture;
return DqMlNet.Cli.DqCommand.Run(args);
