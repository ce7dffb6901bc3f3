# RK3568 (vendor U-Boot, eMMC is mmc 1; configuration only, untested).
# U-Boot script (mkimage -A arm64 -T script -C none -d boot.cmd boot.scr): picks the first slot
# of BOOT_ORDER with tries left, takes one try, and boots that slot's kernel; RAUC's `uboot`
# backend sets BOOT_ORDER and BOOT_<S>_LEFT (mark-good refills the tries).
test -n "${BOOT_ORDER}" || setenv BOOT_ORDER "A B"
test -n "${BOOT_A_LEFT}" || setenv BOOT_A_LEFT 3
test -n "${BOOT_B_LEFT}" || setenv BOOT_B_LEFT 3
setenv slot
for s in ${BOOT_ORDER}; do
    if test -z "${slot}"; then
        if test "${s}" = A && test ${BOOT_A_LEFT} -gt 0; then
            setexpr BOOT_A_LEFT ${BOOT_A_LEFT} - 1; setenv slot A; setenv part 2
        elif test "${s}" = B && test ${BOOT_B_LEFT} -gt 0; then
            setexpr BOOT_B_LEFT ${BOOT_B_LEFT} - 1; setenv slot B; setenv part 3
        fi
    fi
done
if test -z "${slot}"; then
    # Every slot used its tries: start over rather than stop at a prompt.
    setenv BOOT_A_LEFT 3; setenv BOOT_B_LEFT 3; saveenv; reset
fi
saveenv
load mmc 1:${part} ${fdt_addr_r} /boot/dtbs/rockchip/${fdtfile}
load mmc 1:${part} ${kernel_addr_r} /boot/vmlinuz
load mmc 1:${part} ${ramdisk_addr_r} /boot/initrd.img
setenv bootargs "root=/dev/mmcblk1p${part} ro rootwait rauc.slot=${slot} console=ttyS2,1500000 loglevel=3"
booti ${kernel_addr_r} ${ramdisk_addr_r}:${filesize} ${fdt_addr_r}
