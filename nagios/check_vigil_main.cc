// check_vigil: drop-in for monitoring-plugins 2.3.3 check_procs.
#include "nagios/check.h"

int main(int argc, char** argv) { return vigil::nagios::RunCheck(argc, argv); }
