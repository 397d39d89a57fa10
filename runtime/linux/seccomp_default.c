/* Docker's default seccomp profile, embedded verbatim from
 * runtime/linux/seccomp_default.json so the daemon needs no data files.
 *
 * .incbin resolves its path against the assembler's working directory: the
 * Makefile runs cc from the repository root.  -MMD cannot see the JSON, so
 * the Makefile carries an explicit dependency on it.  A trailing NUL makes
 * the data a C string; rt_seccomp_default_profile() hands it out. */

__asm__(".section .rodata\n"
        ".global berth_seccomp_default_json\n"
        ".type berth_seccomp_default_json, @object\n"
        "berth_seccomp_default_json:\n"
        ".incbin \"runtime/linux/seccomp_default.json\"\n"
        ".byte 0\n"
        ".size berth_seccomp_default_json, . - berth_seccomp_default_json\n"
        ".previous\n");
