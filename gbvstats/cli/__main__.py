from gbvstats.cli import main

main()
