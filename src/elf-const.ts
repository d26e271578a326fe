// The ELF numbers the core readers share (elf(5), linux/elf.h): segment and note types.

export const ET_CORE = 4;
export const PT_LOAD = 1;
export const PT_NOTE = 4;
/** e_phnum's escape: the real program header count is in section header 0's sh_info. */
export const PN_XNUM = 0xffff;

export const NT_PRSTATUS = 1;
export const NT_PRPSINFO = 3;
export const NT_AUXV = 6;
export const NT_SIGINFO = 0x53494749;
export const NT_FILE = 0x46494c45;
/** In a module's own notes (owner "GNU"), not the core's. */
export const NT_GNU_BUILD_ID = 3;
