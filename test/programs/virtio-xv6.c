/*
 * A virtio-blk driver written the way xv6-riscv's kernel/virtio_disk.c talks
 * to QEMU (our own code, same protocol choices): it looks for the disk in
 * virtio-mmio slot 0 (0x10001000), insists on QEMU's vendor id, negotiates
 * the legacy way (one DriverFeatures write with the selector left at 0, so
 * VIRTIO_F_VERSION_1 is never accepted) on the modern MMIO transport, sets
 * up queue 0 with QueueDesc/Driver/Device and polls the used ring.
 *
 * It reads sector 0 (the host wrote a marker there), writes sector 1 and
 * reads it back. Result: "virtio-xv6 ok" on the UART and exit 0, or a
 * failure code (see the returns in main). test/virtio/xv6-driver.test.ts.
 */
typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long u64;

#define UART ((volatile u8 *)0x10000000)
#define MMIO(off) (*(volatile u32 *)(0x10001000UL + (off)))

enum {
  MAGIC = 0x000, VERSION = 0x004, DEVICE_ID = 0x008, VENDOR_ID = 0x00c,
  DEVICE_FEATURES = 0x010, DRIVER_FEATURES = 0x020, QUEUE_SEL = 0x030,
  QUEUE_NUM_MAX = 0x034, QUEUE_NUM = 0x038, QUEUE_READY = 0x044, QUEUE_NOTIFY = 0x050,
  INTERRUPT_STATUS = 0x060, INTERRUPT_ACK = 0x064, STATUS = 0x070,
  DESC_LOW = 0x080, DESC_HIGH = 0x084, DRIVER_LOW = 0x090, DRIVER_HIGH = 0x094,
  DEVICE_LOW = 0x0a0, DEVICE_HIGH = 0x0a4,
};
enum { S_ACK = 1, S_DRIVER = 2, S_DRIVER_OK = 4, S_FEATURES_OK = 8 };
/* The feature bits xv6 turns off before accepting the rest of word 0. */
#define F_BLK_RO (1u << 5)
#define F_BLK_SCSI (1u << 7)
#define F_BLK_CONFIG_WCE (1u << 11)
#define F_BLK_MQ (1u << 12)
#define F_ANY_LAYOUT (1u << 27)
#define F_INDIRECT_DESC (1u << 28)
#define F_EVENT_IDX (1u << 29)

#define NUM 8
struct desc { u64 addr; u32 len; u16 flags; u16 next; };
struct avail { u16 flags; u16 idx; u16 ring[NUM]; u16 unused; };
struct used_elem { u32 id; u32 len; };
struct used { u16 flags; u16 idx; struct used_elem ring[NUM]; };
struct blk_req { u32 type; u32 reserved; u64 sector; };
#define DESC_NEXT 1
#define DESC_WRITE 2
#define BLK_IN 0
#define BLK_OUT 1

static struct desc desc[NUM] __attribute__((aligned(4096)));
static struct avail avail __attribute__((aligned(4096)));
static struct used used __attribute__((aligned(4096)));
static struct blk_req req;
static volatile u8 status_byte;
static u8 buf[512], back[512];
static u16 last_used;

static void putc_(char c) { *UART = (u8)c; }
static void puts_(const char *s) { while (*s) putc_(*s++); }
static void fence(void) { __sync_synchronize(); }

/* One request, three descriptors, polled to completion; returns the status byte. */
static int rw(u64 sector, u8 *data, int write) {
  req.type = write ? BLK_OUT : BLK_IN;
  req.reserved = 0;
  req.sector = sector;
  desc[0] = (struct desc){ (u64)&req, sizeof req, DESC_NEXT, 1 };
  desc[1] = (struct desc){ (u64)data, 512, (u16)(DESC_NEXT | (write ? 0 : DESC_WRITE)), 2 };
  status_byte = 0xff;
  desc[2] = (struct desc){ (u64)&status_byte, 1, DESC_WRITE, 0 };
  avail.ring[avail.idx % NUM] = 0;
  fence();
  avail.idx += 1;
  fence();
  MMIO(QUEUE_NOTIFY) = 0;
  for (long spin = 0; *(volatile u16 *)&used.idx == last_used; spin++) {
    if (spin > 200000000L) return -1;
  }
  fence();
  last_used += 1;
  if (used.ring[(last_used - 1) % NUM].id != 0) return -2;
  MMIO(INTERRUPT_ACK) = MMIO(INTERRUPT_STATUS) & 3;
  return status_byte;
}

static int same(const u8 *a, const char *b, int n) {
  for (int i = 0; i < n; i++) if (a[i] != (u8)b[i]) return 0;
  return 1;
}

int main(void) {
  if (MMIO(MAGIC) != 0x74726976 || MMIO(VERSION) != 2 || MMIO(DEVICE_ID) != 2) return 2;
  if (MMIO(VENDOR_ID) != 0x554d4551) return 3;
  u32 status = 0;
  MMIO(STATUS) = status;
  status |= S_ACK;
  MMIO(STATUS) = status;
  status |= S_DRIVER;
  MMIO(STATUS) = status;
  u32 features = MMIO(DEVICE_FEATURES);
  features &= ~(F_BLK_RO | F_BLK_SCSI | F_BLK_CONFIG_WCE | F_BLK_MQ | F_ANY_LAYOUT | F_EVENT_IDX | F_INDIRECT_DESC);
  MMIO(DRIVER_FEATURES) = features;
  status |= S_FEATURES_OK;
  MMIO(STATUS) = status;
  if (!(MMIO(STATUS) & S_FEATURES_OK)) return 4;
  MMIO(QUEUE_SEL) = 0;
  if (MMIO(QUEUE_READY)) return 5;
  if (MMIO(QUEUE_NUM_MAX) < NUM) return 6;
  MMIO(QUEUE_NUM) = NUM;
  MMIO(DESC_LOW) = (u32)(u64)desc;
  MMIO(DESC_HIGH) = (u32)((u64)desc >> 32);
  MMIO(DRIVER_LOW) = (u32)(u64)&avail;
  MMIO(DRIVER_HIGH) = (u32)((u64)&avail >> 32);
  MMIO(DEVICE_LOW) = (u32)(u64)&used;
  MMIO(DEVICE_HIGH) = (u32)((u64)&used >> 32);
  MMIO(QUEUE_READY) = 1;
  status |= S_DRIVER_OK;
  MMIO(STATUS) = status;
  if (!(MMIO(STATUS) & S_DRIVER_OK)) return 7;

  if (rw(0, buf, 0) != 0) return 8;
  if (!same(buf, "HYDRAVM-XV6-SECTOR0", 19)) return 9;
  const char *msg = "written by the xv6-style driver";
  for (int i = 0; i < 512; i++) buf[i] = (u8)(i < 31 ? msg[i] : i);
  if (rw(1, buf, 1) != 0) return 10;
  if (rw(1, back, 0) != 0) return 11;
  for (int i = 0; i < 512; i++) if (back[i] != buf[i]) return 12;
  puts_("virtio-xv6 ok\n");
  return 0;
}
