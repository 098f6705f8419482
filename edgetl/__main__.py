from edgetl._entry import main

main()
